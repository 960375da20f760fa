import type { Logger } from "@bridge/observability";
import type { KafkaMessage } from "kafkajs";
import { errorMessageOf } from "./errors.ts";
import { type FailureClass, stampFailure } from "./failure-headers.ts";
import type { KafkaClient } from "./kafka-client.ts";
import type { MessagingMetrics } from "./metrics.ts";
import { createKafkaProducer } from "./producer.ts";
import { baseTopicOf, dlqTopicOf } from "./topics.ts";

export type MessageSource = { topic: string; partition: number; offset: string };

/** Copies a failed message, bytes unchanged and failure headers stamped, to `.retry` or `.dlq`. */
export type Forwarder = {
  forward(
    toTopic: string,
    message: KafkaMessage,
    source: MessageSource,
    failure: { errorClass: FailureClass; error: unknown },
    extra?: Record<string, string>,
  ): Promise<void>;
  deadLetter(
    message: KafkaMessage,
    source: MessageSource,
    errorClass: FailureClass,
    error: unknown,
  ): Promise<void>;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
};

export function createForwarder(
  client: KafkaClient,
  logger: Logger,
  metrics: MessagingMetrics | undefined,
): Forwarder {
  const producer = createKafkaProducer(client, { publishTimeoutMs: 10_000 });
  const forward: Forwarder["forward"] = async (toTopic, message, source, failure, extra = {}) => {
    await producer.sendRaw(toTopic, [
      {
        key: message.key,
        value: message.value,
        headers: stampFailure(message.headers, source, failure, extra),
      },
    ]);
  };
  return {
    forward,
    async deadLetter(message, source, errorClass, error) {
      const dlq = dlqTopicOf(source.topic);
      await forward(dlq, message, source, { errorClass, error });
      metrics?.deadLettered.inc({ topic: baseTopicOf(source.topic), error_class: errorClass });
      logger.warn({ ...source, dlq, errorClass, error: errorMessageOf(error) }, "message sent to the DLQ");
    },
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
  };
}
