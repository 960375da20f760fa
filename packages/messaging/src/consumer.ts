import type { Logger } from "@bridge/observability";
import type { Consumer, EachBatchPayload } from "kafkajs";
import type { Registry } from "prom-client";
import { AbortedError } from "./backoff.ts";
import type { ErrorClassifier } from "./errors.ts";
import { createForwarder } from "./forwarder.ts";
import type { KafkaClient } from "./kafka-client.ts";
import { createMessagingMetrics } from "./metrics.ts";
import { type MessageHandler, type MessageProcessor, processMessage } from "./process-message.ts";
import { type RetryOptions, retryPolicyOf } from "./retry-policy.ts";
import { retryTopicOf } from "./topics.ts";

export type { MessageContext, MessageHandler } from "./process-message.ts";
export type { RetryOptions } from "./retry-policy.ts";

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
  /** The consumer's retry policy; what it leaves out comes from `defaultRetryPolicy`. */
  retry?: RetryOptions;
  classifyError?: ErrorClassifier;
  /** Prometheus registry for the messaging_* metrics (see metrics.ts). */
  registry?: Registry;
  /** Start a new group at the earliest offset (default true: nothing published before the first deploy is lost). */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxWaitTimeMs?: number;
  /**
   * Commit once per fetched batch instead of after every message: `beforeCommit` first makes
   * durable what the batch's handlers deferred (e.g. inbox rows written as one statement), then
   * the offset after the last handled message is committed. A crash before that commit redelivers
   * the batch; handlers must be idempotent, as they are for any redelivery.
   */
  commitPerBatch?: {
    beforeCommit(topic: string, partition: number): Promise<void>;
    /**
     * Also commit within a batch once this long has passed since the last commit (default
     * 1,000 ms): a storm's batch holds hundreds of messages, and a rebalance or a crash must not
     * hand them all to be handled again.
     */
    intervalMs?: number;
  };
  /** Called with 1 when the consumer crashed beyond repair (default process.exit). */
  exit?: (code: number) => void;
  logger?: Logger;
};

export type RunningConsumer = {
  /** Lets in-flight handlers finish, commits their offsets, leaves the group and disconnects. */
  stop(): Promise<void>;
};

/**
 * A consumer group member that hands each message to its handler, in order per partition, and
 * commits each offset right after its message succeeded or was forwarded (docs/decisions/002).
 */
export async function startConsumer(client: KafkaClient, options: ConsumerOptions): Promise<RunningConsumer> {
  if (!options.handler && !options.handlers) throw new Error("startConsumer: give `handler` or `handlers`");
  const logger = (options.logger ?? client.logger).child({ component: "consumer", groupId: options.groupId });
  const metrics = options.registry ? createMessagingMetrics(options.registry) : undefined;
  const retry = retryPolicyOf(options.retry);
  const stopController = new AbortController();
  const forwarder = createForwarder(client, logger, metrics);
  const processor: MessageProcessor = {
    handlerFor: (type) => options.handlers?.[type] ?? options.handler,
    onUnhandledType: options.onUnhandledType ?? "dlq",
    retry,
    classifyError: options.classifyError,
    forwarder,
    metrics,
    logger,
    signal: stopController.signal,
  };
  const consumer: Consumer = client.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
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
  };
  const deferrals = createDeferrals();
  stopController.signal.addEventListener("abort", () => deferrals.clear(), { once: true });
  const state = { stopRequested: false, fatal: false, abort: () => stopController.abort() };
  exitOnCrash(consumer, logger, shutdown, options.exit ?? ((code: number) => process.exit(code)), state);

  const subscribed = [
    ...new Set(options.topics.flatMap((t) => (retry.retryTopic ? [t, retryTopicOf(t)] : [t]))),
  ];
  await forwarder.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: subscribed, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, options.concurrency ?? 3),
    eachBatch: (payload) => handleBatch(payload, processor, state, deferrals, options.commitPerBatch),
  });
  logger.info({ topics: subscribed }, "consumer started");
  return {
    stop: () => {
      state.stopRequested = true;
      return shutdown();
    },
  };
}

/**
 * kafkajs emits CRASH when its run loop gives up. With restart=true it reconnects by itself; with
 * restart=false the consumer is dead, so the process must exit non-zero to be restarted. A
 * FatalError from a handler takes the same path: handleBatch throws a non-retriable error.
 */
function exitOnCrash(
  consumer: Consumer,
  logger: Logger,
  shutdown: () => Promise<void>,
  exit: (code: number) => void,
  state: { stopRequested: boolean },
) {
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    if (restart) {
      logger.warn({ err: error }, "consumer crashed; kafkajs restarts it");
      return;
    }
    if (state.stopRequested) return;
    logger.fatal({ err: error }, "consumer crashed without restart; exiting non-zero");
    const bounded = Promise.race([
      shutdown(),
      new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref()),
    ]);
    void bounded.catch(() => {}).finally(() => exit(1));
  });
}

type Deferrals = ReturnType<typeof createDeferrals>;

/**
 * Messages whose next try is not due yet (a retry message early, a long backoff). kafkajs fetches
 * again from a broker only once every batch of its last fetch is done, so waiting for one inside
 * its batch would hold up every partition that broker leads. Instead its partition is paused, its
 * offset left unresolved, and the partition resumed when it is due: kafkajs then fetches from the
 * last resolved offset, that message first, so the partition's order is kept. The attempt number
 * is kept in memory; after a restart or a rebalance the message starts again at attempt 1.
 */
function createDeferrals() {
  const attempts = new Map<string, number>();
  const resumeTimers = new Map<string, NodeJS.Timeout>();
  const keyOf = (topic: string, partition: number, offset?: string) =>
    offset === undefined ? `${topic}|${partition}` : `${topic}|${partition}|${offset}`;
  return {
    /** The attempt a deferred message resumes at (1 if none), forgotten once read. */
    takeAttempt(topic: string, partition: number, offset: string): number {
      const key = keyOf(topic, partition, offset);
      const attempt = attempts.get(key) ?? 1;
      attempts.delete(key);
      return attempt;
    },
    defer(
      topic: string,
      partition: number,
      offset: string,
      later: { notBefore: number; attempt: number },
      pause: () => () => void,
    ) {
      if (later.attempt > 1) attempts.set(keyOf(topic, partition, offset), later.attempt);
      const partitionKey = keyOf(topic, partition);
      clearTimeout(resumeTimers.get(partitionKey));
      const resume = pause();
      resumeTimers.set(
        partitionKey,
        setTimeout(
          () => {
            resumeTimers.delete(partitionKey);
            resume();
          },
          Math.max(0, later.notBefore - Date.now()),
        ),
      );
    },
    clear() {
      for (const timer of resumeTimers.values()) clearTimeout(timer);
      resumeTimers.clear();
      attempts.clear();
    },
  };
}

/**
 * One batch of one partition, in order: each message processed, then its offset committed at once
 * (or, with `perBatch`, the batch's deferred writes made durable and the last offset committed).
 * A message not due yet ends the batch there, uncommitted, with its partition paused until it is.
 */
async function handleBatch(
  payload: EachBatchPayload,
  processor: MessageProcessor,
  state: { fatal: boolean; abort: () => void },
  deferrals: Deferrals,
  perBatch?: ConsumerOptions["commitPerBatch"],
): Promise<void> {
  const { batch } = payload;
  const heartbeat = () => payload.heartbeat();
  let handled: string | undefined;
  let committedAt = Date.now();
  const commit = async (offset: string) => {
    if (perBatch) await perBatch.beforeCommit(batch.topic, batch.partition);
    committedAt = Date.now();
    // Resolved only now: if beforeCommit failed, kafkajs fetches the batch again from its start.
    payload.resolveOffset(offset);
    await payload.commitOffsetsIfNecessary({
      topics: [
        {
          topic: batch.topic,
          partitions: [{ partition: batch.partition, offset: (BigInt(offset) + 1n).toString() }],
        },
      ],
    });
  };
  try {
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale() || processor.signal.aborted || state.fatal) return;
      const source = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      let outcome: Awaited<ReturnType<typeof processMessage>>;
      try {
        const attempt = deferrals.takeAttempt(batch.topic, batch.partition, message.offset);
        outcome = await processMessage(processor, source, message, heartbeat, attempt);
      } catch (error) {
        if (error instanceof AbortedError) return; // stopping: leave it uncommitted
        throw error; // e.g. the DLQ unreachable: kafkajs retries the batch from the last commit
      }
      if (outcome.kind === "fatal") {
        state.fatal = true;
        state.abort();
        // Not retriable, so kafkajs stops instead of retrying the batch; the offset stays uncommitted.
        throw Object.assign(new Error("fatal handler error", { cause: outcome.error }), { retriable: false });
      }
      if (outcome.kind === "later") {
        // Unresolved: the next fetch after the resume starts at this message.
        deferrals.defer(batch.topic, batch.partition, message.offset, outcome, payload.pause);
        return;
      }
      if (!perBatch) await commit(message.offset);
      else if (Date.now() - committedAt < (perBatch.intervalMs ?? 1_000)) handled = message.offset;
      else {
        handled = undefined;
        await commit(message.offset);
      }
      // kafkajs heartbeats only between batches: a long batch would outlive the session and
      // cost a rebalance. Sent at most every heartbeatInterval; it throws when the group
      // rebalances, and what was handled is committed below before kafkajs rejoins.
      if (payload.isRunning() && !processor.signal.aborted) await heartbeat();
    }
  } finally {
    // Per batch: also when stopping mid-batch, so a clean stop redelivers nothing already handled.
    if (handled !== undefined && !payload.isStale() && !state.fatal) await commit(handled);
  }
}
