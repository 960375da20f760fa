import { randomUUID } from "node:crypto";
import { type Envelope, messageTypes, type OrderOutcomeV1, orderOutcomeV1 } from "@bridge/domain";
import { type KafkaClient, type RunningConsumer, startConsumer } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";

/**
 * Waits for order outcomes (limio.order-outcomes.v1) by order id, for `process_immediately`
 * orders. Register the wait BEFORE publishing the order so an outcome cannot slip past.
 */
export type OrderOutcomeWaiter = {
  /** Resolves with the outcome, or `undefined` once `timeoutMs` passed or `signal` aborted. */
  wait(orderId: string, timeoutMs: number, signal?: AbortSignal): Promise<OrderOutcomeV1 | undefined>;
  /** Hands an outcome to its waiters (the consumer calls this; tests may too). */
  deliver(outcome: OrderOutcomeV1): void;
  /** Number of orders currently waited for (for tests and metrics). */
  pending(): number;
  stop(): Promise<void>;
};

/** The in-memory registry of waiters, without Kafka. */
export function createOutcomeRegistry(): OrderOutcomeWaiter {
  const waiters = new Map<string, Set<(outcome: OrderOutcomeV1 | undefined) => void>>();
  return {
    wait(orderId, timeoutMs, signal) {
      return new Promise((resolve) => {
        let set = waiters.get(orderId);
        if (!set) {
          set = new Set();
          waiters.set(orderId, set);
        }
        const finish = (outcome: OrderOutcomeV1 | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const current = waiters.get(orderId);
          current?.delete(finish);
          if (current?.size === 0) waiters.delete(orderId);
          resolve(outcome);
        };
        const onAbort = () => finish(undefined);
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        signal?.addEventListener("abort", onAbort, { once: true });
        set.add(finish);
      });
    },
    deliver(outcome) {
      for (const finish of [...(waiters.get(outcome.orderId) ?? [])]) finish(outcome);
    },
    pending: () => waiters.size,
    async stop() {
      for (const set of [...waiters.values()]) for (const finish of [...set]) finish(undefined);
    },
  };
}

/**
 * Consumes the outcomes topic with a consumer group of its own (one per gateway instance, new
 * messages only: `fromBeginning: false`), so every instance sees every outcome and resolves the
 * waiters it holds. Offsets of these throwaway groups do not matter: a restarted instance has no
 * waiters for older outcomes, and the store is consulted when a wait times out.
 */
export async function startOutcomeWaiter(
  client: KafkaClient,
  options: { topic: string; logger: Logger; groupId?: string },
): Promise<OrderOutcomeWaiter> {
  const registry = createOutcomeRegistry();
  const logger = options.logger.child({ component: "outcome-waiter" });
  const consumer: RunningConsumer = await startConsumer(client, {
    groupId: options.groupId ?? `ingest-gateway-outcomes-${randomUUID()}`,
    topics: [options.topic],
    fromBeginning: false,
    retry: { retryTopic: false, attempts: 1 },
    onUnhandledType: "skip",
    logger,
    handlers: {
      [messageTypes.orderOutcome]: async (envelope: Envelope) => {
        const parsed = orderOutcomeV1.safeParse(envelope.data);
        if (parsed.success) registry.deliver(parsed.data);
        else logger.warn({ messageId: envelope.id }, "ignoring an unreadable order outcome");
      },
    },
    // A dead waiter must not take the gateway down: waits then time out and fall back to the store.
    exit: () => logger.error("outcome consumer stopped; process_immediately answers fall back to the store"),
  });
  return {
    ...registry,
    async stop() {
      await registry.stop();
      await consumer.stop();
    },
  };
}
