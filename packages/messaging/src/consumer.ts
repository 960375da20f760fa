import type { Envelope } from "@bridge/domain";
import type { Logger } from "@bridge/observability";
import type { Consumer, EachBatchPayload, KafkaMessage } from "kafkajs";
import type { Registry } from "prom-client";
import { AbortedError, type BackoffPolicy, backoffDelayMs, waitFor } from "./backoff.ts";
import { decodeEnvelope, decodeHeaders, type MessageHeaders } from "./codec.ts";
import {
  classifyError,
  type ErrorClassifier,
  errorMessageOf,
  errorNameOf,
  retryAfterMsOf,
} from "./errors.ts";
import { type FailureClass, failureHeaders, stampFailure } from "./failure-headers.ts";
import type { KafkaClient } from "./kafka-client.ts";
import { createMessagingMetrics } from "./metrics.ts";
import { createKafkaProducer, type RawProducer } from "./producer.ts";
import { baseTopicOf, dlqTopicOf, retryTopicOf } from "./topics.ts";

export type MessageContext = {
  /** Topic the message was read from (`x` or `x.retry`). */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: MessageHeaders;
  /** 1 for the first attempt in this delivery, 2 for the first in-place retry, … */
  attempt: number;
  /** How many times the message went through `<topic>.retry` already. */
  retryRound: number;
  /** Aborted when the consumer stops; long handlers may use it to give up early. */
  signal: AbortSignal;
  /**
   * The consumer's logger bound to this message (messageId, type, correlationId, causationId),
   * so every line a handler writes can be followed across services by its correlation id.
   */
  logger: Logger;
};

export type MessageHandler<TData = unknown> = (
  envelope: Envelope<TData>,
  context: MessageContext,
) => Promise<void>;

export type RetryOptions = {
  /** Attempts per delivery, in place, before forwarding (default 3). */
  attempts?: number;
  /** In-place backoff (default 200 ms doubling, at most 10 s, full jitter). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Forward to `<topic>.retry` after the in-place attempts (default true; the topic must exist). */
  retryTopic?: boolean;
  /** Passes through `<topic>.retry` before the DLQ (default 3). */
  retryRounds?: number;
  /** Delay before a retry-topic message is handled, doubled each round (default 5 s). */
  retryTopicDelayMs?: number;
};

export type ConsumerOptions = {
  groupId: string;
  topics: string[];
  /** Handlers by envelope `type`; `handler` takes every type not listed. */
  handlers?: Record<string, MessageHandler>;
  handler?: MessageHandler;
  /** Envelope types without a handler: "dlq" (default) or "skip" (commit and move on). */
  onUnhandledType?: "dlq" | "skip";
  /** Partitions handled at the same time (default 3); in-partition order is always kept. */
  concurrency?: number;
  retry?: RetryOptions;
  classifyError?: ErrorClassifier;
  /** Prometheus registry for the messaging_* metrics (see metrics.ts). */
  registry?: Registry;
  /** Start a new group at the earliest offset (default true: nothing published before the first deploy is lost). */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
  /** Called with 1 when the consumer crashed beyond repair (default process.exit). */
  exit?: (code: number) => void;
  logger?: Logger;
};

export type RunningConsumer = {
  /** Lets in-flight handlers finish, commits their offsets, leaves the group and disconnects. */
  stop(): Promise<void>;
};

type Outcome = { kind: "done" } | { kind: "fatal"; error: unknown };

const DONE: Outcome = { kind: "done" };

export async function startConsumer(client: KafkaClient, options: ConsumerOptions): Promise<RunningConsumer> {
  if (!options.handler && !options.handlers) throw new Error("startConsumer: give `handler` or `handlers`");
  const logger = (options.logger ?? client.logger).child({ component: "consumer", groupId: options.groupId });
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const retry = {
    attempts: Math.max(1, options.retry?.attempts ?? 3),
    retryTopic: options.retry?.retryTopic ?? true,
    retryRounds: options.retry?.retryRounds ?? 3,
    retryTopicDelayMs: options.retry?.retryTopicDelayMs ?? 5_000,
  };
  const backoff: BackoffPolicy = {
    baseDelayMs: options.retry?.baseDelayMs ?? 200,
    maxDelayMs: options.retry?.maxDelayMs ?? 10_000,
  };
  const metrics = options.registry ? createMessagingMetrics(options.registry) : undefined;
  const subscribed = [
    ...new Set(options.topics.flatMap((t) => (retry.retryTopic ? [t, retryTopicOf(t)] : [t]))),
  ];

  const forwarder: RawProducer & { connect(): Promise<void>; disconnect(): Promise<void> } =
    createKafkaProducer(client, { publishTimeoutMs: 10_000 });
  const consumer: Consumer = client.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
  });

  const stopController = new AbortController();
  let stopping: Promise<void> | undefined;
  let stopRequested = false;
  let fatal = false;

  // kafkajs emits CRASH when its run loop gives up. With restart=true it reconnects by itself;
  // with restart=false the consumer is dead, so the process must exit non-zero to be restarted.
  // A FatalError from a handler takes the same path: eachBatch throws a non-retriable error.
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    if (restart) {
      logger.warn({ err: error }, "consumer crashed; kafkajs restarts it");
      return;
    }
    if (stopRequested) return;
    logger.fatal({ err: error }, "consumer crashed without restart; exiting non-zero");
    const bounded = Promise.race([
      shutdown(),
      new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref()),
    ]);
    void bounded.catch(() => {}).finally(() => exit(1));
  });

  async function shutdown(): Promise<void> {
    stopping ??= (async () => {
      stopController.abort();
      try {
        await consumer.disconnect();
      } finally {
        await forwarder
          .disconnect()
          .catch((error: unknown) => logger.warn({ err: error }, "forwarder disconnect"));
      }
      logger.info("consumer stopped");
    })();
    return stopping;
  }

  const handlerFor = (type: string): MessageHandler | undefined =>
    options.handlers?.[type] ?? options.handler;

  async function forward(
    toTopic: string,
    message: KafkaMessage,
    source: { topic: string; partition: number; offset: string },
    failure: { errorClass: FailureClass; error: unknown },
    extra: Record<string, string> = {},
  ) {
    await forwarder.sendRaw(toTopic, [
      {
        key: message.key,
        value: message.value,
        headers: stampFailure(message.headers, source, failure, extra),
      },
    ]);
  }

  async function deadLetter(
    message: KafkaMessage,
    source: { topic: string; partition: number; offset: string },
    errorClass: FailureClass,
    error: unknown,
  ) {
    const dlq = dlqTopicOf(source.topic);
    await forward(dlq, message, source, { errorClass, error });
    metrics?.deadLettered.inc({ topic: baseTopicOf(source.topic), error_class: errorClass });
    logger.warn(
      {
        topic: source.topic,
        partition: source.partition,
        offset: source.offset,
        dlq,
        errorClass,
        error: errorMessageOf(error),
      },
      "message sent to the DLQ",
    );
  }

  async function processMessage(payload: EachBatchPayload, message: KafkaMessage): Promise<Outcome> {
    const { topic, partition } = payload.batch;
    const source = { topic, partition, offset: message.offset };
    const heartbeat = () => payload.heartbeat();
    const headers = decodeHeaders(message.headers);
    const retryRound = Number.parseInt(headers[failureHeaders.retryCount] ?? "0", 10) || 0;

    if (topic !== baseTopicOf(topic)) {
      const notBefore = Date.parse(headers[failureHeaders.retryNotBefore] ?? "");
      if (Number.isFinite(notBefore) && notBefore > Date.now()) {
        await waitFor(notBefore - Date.now(), stopController.signal, heartbeat);
      }
    }

    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(message.value);
    } catch (error) {
      metrics?.failed.inc({ topic, error_class: "poison" });
      await deadLetter(message, source, "poison", error);
      return DONE;
    }

    const handler = handlerFor(envelope.type);
    if (!handler) {
      if ((options.onUnhandledType ?? "dlq") === "skip") return DONE;
      await deadLetter(
        message,
        source,
        "unhandled",
        new Error(`no handler for message type ${envelope.type}`),
      );
      return DONE;
    }

    for (let attempt = 1; ; attempt++) {
      const timer = metrics?.handleDuration.startTimer({ topic });
      try {
        await handler(envelope, {
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString("utf8") ?? null,
          headers,
          attempt,
          retryRound,
          signal: stopController.signal,
          logger: logger.child({
            messageId: envelope.id,
            messageType: envelope.type,
            correlationId: envelope.correlationId,
            ...(envelope.causationId ? { causationId: envelope.causationId } : {}),
          }),
        });
        timer?.({ outcome: "handled" });
        metrics?.handled.inc({ topic, type: envelope.type });
        return DONE;
      } catch (error) {
        const errorClass = classifyError(error, options.classifyError);
        timer?.({ outcome: errorClass });
        metrics?.failed.inc({ topic, error_class: errorClass });
        const where = {
          topic,
          partition,
          offset: message.offset,
          messageId: envelope.id,
          attempt,
          errorClass,
        };
        if (errorClass === "fatal") return { kind: "fatal", error };
        if (errorClass === "poison" || errorClass === "permanent") {
          await deadLetter(message, source, errorClass, error);
          return DONE;
        }
        if (attempt < retry.attempts) {
          const delay = backoffDelayMs(attempt, backoff, retryAfterMsOf(error));
          logger.warn(
            { ...where, delayMs: delay, error: errorMessageOf(error), errorName: errorNameOf(error) },
            "handler failed; retrying",
          );
          metrics?.retried.inc({ topic, where: "in_place" });
          await waitFor(delay, stopController.signal, heartbeat);
          continue;
        }
        if (retry.retryTopic && retryRound < retry.retryRounds) {
          const delay = Math.max(retry.retryTopicDelayMs * 2 ** retryRound, retryAfterMsOf(error) ?? 0);
          await forward(
            retryTopicOf(topic),
            message,
            source,
            { errorClass, error },
            {
              [failureHeaders.retryCount]: String(retryRound + 1),
              [failureHeaders.retryNotBefore]: new Date(Date.now() + delay).toISOString(),
            },
          );
          metrics?.retried.inc({ topic, where: "retry_topic" });
          logger.warn(
            { ...where, retryRound: retryRound + 1, error: errorMessageOf(error) },
            "forwarded to the retry topic",
          );
          return DONE;
        }
        await deadLetter(message, source, errorClass, error);
        return DONE;
      }
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || stopController.signal.aborted || fatal) return;
      let outcome: Outcome;
      try {
        outcome = await processMessage(payload, message);
      } catch (error) {
        if (error instanceof AbortedError) return; // stopping: leave it uncommitted
        throw error; // e.g. the DLQ unreachable: kafkajs retries the batch from the last commit
      }
      if (outcome.kind === "fatal") {
        fatal = true;
        stopController.abort();
        // Not retriable, so kafkajs stops instead of retrying the batch; the offset stays uncommitted.
        throw Object.assign(new Error("fatal handler error", { cause: outcome.error }), {
          retriable: false,
        });
      }
      payload.resolveOffset(message.offset);
      await payload.commitOffsetsIfNecessary({
        topics: [
          {
            topic: batch.topic,
            partitions: [{ partition: batch.partition, offset: (BigInt(message.offset) + 1n).toString() }],
          },
        ],
      });
    }
  }

  await forwarder.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: subscribed, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, options.concurrency ?? 3),
    eachBatch,
  });
  logger.info({ topics: subscribed }, "consumer started");
  return {
    stop: () => {
      stopRequested = true;
      return shutdown();
    },
  };
}
