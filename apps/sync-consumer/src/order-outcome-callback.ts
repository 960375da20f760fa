import { callbackSignatureHeader, type Envelope, messageTypes, signCallback } from "@bridge/domain";
import {
  type KafkaClient,
  PermanentError,
  RetryableError,
  type RetryOptions,
  type RunningConsumer,
  startConsumer,
} from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { handleOnce, type Store } from "@bridge/store";
import type { Registry } from "prom-client";

/** The inbox name of delivered callbacks: an outcome redelivered by Kafka is not posted twice. */
const CALLBACK_INBOX = "order-outcome-callback";

/**
 * Retries of a failing receiver: in place only, doubling from 1 s to at most 5 min over 12
 * attempts (about 20 minutes), then the DLQ. Not through `limio.order-outcomes.v1.retry`: that
 * topic is shared with the sync's group, which would then see (and the callback re-post) the
 * other's retries.
 */
const callbackRetryPolicy: Required<
  Pick<RetryOptions, "attempts" | "baseDelayMs" | "maxDelayMs" | "retryTopic">
> = {
  attempts: 12,
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  retryTopic: false,
};

export type OrderOutcomeCallbackOptions = {
  kafka: KafkaClient;
  store: Store;
  logger: Logger;
  registry: Registry;
  topic: string;
  url: string;
  secret: string;
  groupId?: string;
  retry?: RetryOptions;
  now?: () => number;
};

/**
 * The optional order-outcome callback, for tenants who do not read Kafka: every
 * `limio.order.outcome` POSTed as its envelope to `url`, signed (`Limio-Bridge-Signature`), by its
 * own consumer group. 2xx = delivered (recorded in the inbox); 408, 429, 5xx and network errors are
 * retried with backoff; other 4xx are permanent (DLQ).
 */
export function startOrderOutcomeCallback(options: OrderOutcomeCallbackOptions): Promise<RunningConsumer> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const post = async (envelope: Envelope) => {
    const body = JSON.stringify(envelope);
    let res: Response;
    try {
      res = await fetch(options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [callbackSignatureHeader]: signCallback(options.secret, body, now()),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new RetryableError(`callback not reached: ${(error as Error).message}`);
    }
    await res.body?.cancel();
    if (res.ok) return;
    const message = `callback answered ${res.status}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new RetryableError(message);
    throw new PermanentError(message);
  };
  return startConsumer(options.kafka, {
    groupId: options.groupId ?? "order-outcome-callback",
    topics: [options.topic],
    handlers: {
      [messageTypes.orderOutcome]: async (envelope) => {
        await handleOnce(options.store, CALLBACK_INBOX, envelope.id, () => post(envelope));
      },
    },
    onUnhandledType: "skip",
    retry: { ...callbackRetryPolicy, ...options.retry },
    registry: options.registry,
    logger: options.logger,
  });
}
