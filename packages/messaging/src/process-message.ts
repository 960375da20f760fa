import type { Envelope } from "@bridge/domain";
import type { Logger } from "@bridge/observability";
import type { KafkaMessage } from "kafkajs";
import { backoffDelayMs, waitFor } from "./backoff.ts";
import { decodeEnvelope, decodeHeaders, type MessageHeaders } from "./codec.ts";
import {
  classifyError,
  type ErrorClassifier,
  errorMessageOf,
  errorNameOf,
  retryAfterMsOf,
} from "./errors.ts";
import { failureHeaders } from "./failure-headers.ts";
import type { Forwarder, MessageSource } from "./forwarder.ts";
import type { MessagingMetrics } from "./metrics.ts";
import type { RetryPolicy } from "./retry-policy.ts";
import { baseTopicOf, retryTopicOf } from "./topics.ts";

export type MessageContext = {
  /** Topic the message was read from (`x` or `x.retry`). */
  topic: string;
  partition: number;
  offset: string;
  /**
   * When the message was appended, ms since the epoch: Kafka's timestamp (its producer's send
   * time under the default CreateTime). Another host's clock: good for waits, not for ordering.
   */
  appendedAt: number;
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

/**
 * What became of one message: handled or forwarded (commit it), fatal (stop, do not commit), or
 * later: not to be tried before `notBefore`, then as attempt `attempt` (do not commit it; pause its
 * partition and read it again then, so the batch does not hold up every other partition).
 */
export type Outcome =
  | { kind: "done" }
  | { kind: "fatal"; error: unknown }
  | { kind: "later"; notBefore: number; attempt: number };

const DONE: Outcome = { kind: "done" };

export type MessageProcessor = {
  handlerFor(type: string): MessageHandler | undefined;
  onUnhandledType: "dlq" | "skip";
  retry: RetryPolicy;
  classifyError?: ErrorClassifier | undefined;
  forwarder: Forwarder;
  metrics: MessagingMetrics | undefined;
  logger: Logger;
  signal: AbortSignal;
};

/**
 * One message of a partition: defer a retry-topic message not yet due, decode (poison → DLQ),
 * dispatch by envelope type, then on failure retry in place with backoff (short waits in the
 * batch, longer ones deferred), forward to `.retry`, or dead-letter, by the error's class
 * (docs/decisions/003). `firstAttempt` is above 1 for a message deferred after failed attempts.
 */
export async function processMessage(
  p: MessageProcessor,
  source: MessageSource,
  message: KafkaMessage,
  heartbeat: () => Promise<void>,
  firstAttempt = 1,
): Promise<Outcome> {
  const { topic } = source;
  const headers = decodeHeaders(message.headers);
  const retryRound = Number.parseInt(headers[failureHeaders.retryCount] ?? "0", 10) || 0;

  if (topic !== baseTopicOf(topic)) {
    const notBefore = Date.parse(headers[failureHeaders.retryNotBefore] ?? "");
    if (Number.isFinite(notBefore) && notBefore > Date.now()) {
      if (notBefore - Date.now() > p.retry.maxInPlaceWaitMs) return { kind: "later", notBefore, attempt: 1 };
      await waitFor(notBefore - Date.now(), p.signal, heartbeat);
    }
  }

  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(message.value);
  } catch (error) {
    p.metrics?.failed.inc({ topic, error_class: "poison" });
    await p.forwarder.deadLetter(message, source, "poison", error);
    return DONE;
  }

  const handler = p.handlerFor(envelope.type);
  if (!handler) {
    if (p.onUnhandledType === "skip") return DONE;
    await p.forwarder.deadLetter(
      message,
      source,
      "unhandled",
      new Error(`no handler for message type ${envelope.type}`),
    );
    return DONE;
  }
  const logger = p.logger.child({
    messageId: envelope.id,
    messageType: envelope.type,
    correlationId: envelope.correlationId,
    ...(envelope.causationId ? { causationId: envelope.causationId } : {}),
  });

  for (let attempt = firstAttempt; ; attempt++) {
    const timer = p.metrics?.handleDuration.startTimer({ topic });
    try {
      await handler(envelope, {
        ...source,
        appendedAt: Number(message.timestamp),
        key: message.key?.toString("utf8") ?? null,
        headers,
        attempt,
        retryRound,
        signal: p.signal,
        logger,
      });
      timer?.({ outcome: "handled" });
      p.metrics?.handled.inc({ topic, type: envelope.type });
      return DONE;
    } catch (error) {
      const errorClass = classifyError(error, p.classifyError);
      timer?.({ outcome: errorClass });
      p.metrics?.failed.inc({ topic, error_class: errorClass });
      if (errorClass === "fatal") return { kind: "fatal", error };
      if (errorClass === "poison" || errorClass === "permanent") {
        await p.forwarder.deadLetter(message, source, errorClass, error);
        return DONE;
      }
      const where = { ...source, messageId: envelope.id, attempt, errorClass };
      const retryAfterMs = retryAfterMsOf(error);
      const retryRoundLeft = p.retry.retryTopic && retryRound < p.retry.retryRounds;
      // A Retry-After too long to wait in the batch: the in-place attempts could not run before it
      // anyway, so the retry topic holds the message until then and the partition moves on.
      const waitOnRetryTopic = retryRoundLeft && (retryAfterMs ?? 0) > p.retry.maxInPlaceWaitMs;
      if (attempt < p.retry.attempts && !waitOnRetryTopic) {
        const delay = backoffDelayMs(attempt, p.retry.backoff, retryAfterMs);
        const deferred = delay > p.retry.maxInPlaceWaitMs;
        p.logger.warn(
          {
            ...where,
            delayMs: delay,
            deferred,
            error: errorMessageOf(error),
            errorName: errorNameOf(error),
          },
          "handler failed; retrying",
        );
        p.metrics?.retried.inc({ topic, where: "in_place" });
        if (deferred) return { kind: "later", notBefore: Date.now() + delay, attempt: attempt + 1 };
        await waitFor(delay, p.signal, heartbeat);
        continue;
      }
      if (retryRoundLeft) {
        await forwardToRetryTopic(p, message, source, retryRound, errorClass, error);
        p.logger.warn(
          { ...where, retryRound: retryRound + 1, error: errorMessageOf(error) },
          "forwarded to the retry topic",
        );
        return DONE;
      }
      await p.forwarder.deadLetter(message, source, errorClass, error);
      return DONE;
    }
  }
}

/** The next round through `<topic>.retry`, not before `retryTopicDelayMs · 2^round` (or Retry-After). */
async function forwardToRetryTopic(
  p: MessageProcessor,
  message: KafkaMessage,
  source: MessageSource,
  retryRound: number,
  errorClass: "retryable",
  error: unknown,
) {
  const delay = Math.max(p.retry.retryTopicDelayMs * 2 ** retryRound, retryAfterMsOf(error) ?? 0);
  await p.forwarder.forward(
    retryTopicOf(source.topic),
    message,
    source,
    { errorClass, error },
    {
      [failureHeaders.retryCount]: String(retryRound + 1),
      [failureHeaders.retryNotBefore]: new Date(Date.now() + delay).toISOString(),
    },
  );
  p.metrics?.retried.inc({ topic: source.topic, where: "retry_topic" });
}
