export { createOffsetReader, type OffsetReader } from "./admin.ts";
export { type BackoffPolicy, backoffDelayMs } from "./backoff.ts";
export { decodeEnvelope, encodeEnvelope, type MessageHeaders } from "./codec.ts";
export {
  type ConsumerOptions,
  type MessageContext,
  type MessageHandler,
  type RetryOptions,
  type RunningConsumer,
  startConsumer,
} from "./consumer.ts";
export { type DlqEntry, readTopic, redrive } from "./dlq.ts";
export {
  classifyError,
  type ErrorClass,
  type ErrorClassifier,
  FatalError,
  InvalidEnvelopeError,
  PermanentError,
  PoisonMessageError,
  PublishTimeoutError,
  RetryableError,
} from "./errors.ts";
export { type FailureClass, failureHeaders } from "./failure-headers.ts";
export { type ConsumerGaugeOptions, registerConsumerGauges } from "./gauges.ts";
export { createKafkaClient, type KafkaClient, type KafkaClientOptions } from "./kafka-client.ts";
export { consumerLag, type PartitionLag } from "./lag.ts";
export { messageData } from "./message-data.ts";
export { createMessagingMetrics, type MessagingMetrics } from "./metrics.ts";
export {
  createProducer,
  DEFAULT_MAX_MESSAGE_BYTES,
  type EncodedMessage,
  encodeMessage,
  type MessageProducer,
  MessageTooLargeError,
  type OutgoingMessage,
  type ProducerOptions,
  type PublishReceipt,
} from "./producer.ts";
export { defaultRetryPolicy } from "./retry-policy.ts";
export {
  closeGracefully,
  installShutdown,
  type ShutdownOptions,
  type Stoppable,
  stopInOrder,
} from "./shutdown.ts";
export {
  baseTopicOf,
  bridgeTopicSpecs,
  dlqTopicOf,
  ensureTopics,
  retryTopicOf,
  type TopicName,
  type TopicSpec,
  topics,
  topicWithCompanions,
} from "./topics.ts";
