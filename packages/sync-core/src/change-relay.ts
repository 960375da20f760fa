import type { Envelope } from "@bridge/domain";
import type { MessageProducer } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import {
  prunePublishedChanges,
  relaySubscriptionChanges,
  type Store,
  type SubscriptionChangeRow,
} from "@bridge/store";

export type ChangeRelayOptions = {
  store: Store;
  producer: MessageProducer;
  /** limio.subscription-changes.v1 (or a test topic). */
  topic: string;
  logger: Logger;
  /** How often the outbox is read when nothing nudged the relay (default 250 ms). */
  pollIntervalMs?: number;
  /** Rows per round: one Kafka request and one transaction (default 200). */
  batchSize?: number;
  /** Published rows are deleted once older than `keepMs`, checked at most every `everyMs`. */
  retention?: ChangeRetention;
  /** Test seams: called with the claimed rows before the publish and after it (before the marks). */
  hooks?: {
    beforePublish?: (rows: SubscriptionChangeRow[]) => Promise<void> | void;
    afterPublish?: (rows: SubscriptionChangeRow[]) => Promise<void> | void;
  };
};

type ChangeRetention = {
  keepMs: number;
  /** Default: an hour. */
  everyMs?: number;
  /** Rows per DELETE, so one prune never holds a long transaction (default 1,000). */
  batchSize?: number;
};

export type ChangeRelay = {
  /** A commit wrote change events: publish now rather than at the next poll. */
  nudge(): void;
  stop(): Promise<void>;
};

/**
 * The outbox relay (docs/decisions/017): publishes unpublished change events in insertion order,
 * keyed by the Limio subscription id, and marks them published. Only the replica holding the relay
 * lock publishes in a round, so replicas never interleave one subscription's events; at-least-once
 * (a crash after the publish and before the marks re-publishes the same envelope ids).
 */
export function startChangeRelay(options: ChangeRelayOptions): ChangeRelay {
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const batchSize = options.batchSize ?? 200;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const publish = async (rows: SubscriptionChangeRow[]) => {
    await options.hooks?.beforePublish?.(rows);
    await options.producer.publishBatch(
      options.topic,
      rows.map((r) => ({ key: r.subscriptionId, envelope: r.envelope as Envelope })),
    );
    await options.hooks?.afterPublish?.(rows);
  };

  // Every replica prunes (a DELETE of published rows is safe to run twice); not at start-up, so a
  // restart loop cannot turn into a delete loop.
  let lastPrune = Date.now();
  const pruneIfDue = async () => {
    const retention = options.retention;
    if (!retention || Date.now() - lastPrune < (retention.everyMs ?? 3_600_000)) return;
    lastPrune = Date.now();
    const limit = retention.batchSize ?? 1_000;
    const publishedBefore = new Date(Date.now() - retention.keepMs);
    let deleted = 0;
    for (let n = limit; n === limit && !stopped; ) {
      n = await prunePublishedChanges(options.store.db, { publishedBefore, limit });
      deleted += n;
    }
    if (deleted > 0) options.logger.info({ deleted, publishedBefore }, "pruned published change events");
  };

  /** Rounds until the backlog is empty or another replica leads. */
  const drain = async () => {
    for (;;) {
      const r = await relaySubscriptionChanges(
        options.store,
        { limit: batchSize, timeoutMs: 30_000 },
        publish,
      );
      if (!r.leader || r.published < batchSize || stopped) return;
    }
  };

  const run = () => {
    if (stopped) return;
    if (running) {
      again = true; // a nudge during a round: one more round right after it
      return;
    }
    clearTimeout(timer);
    running = drain()
      .catch((error: unknown) => {
        options.logger.warn({ err: error }, "change-event relay round failed; retrying at the next poll");
      })
      // Pruning does not wait for a healthy publish: a Kafka outage must not grow the table twice.
      .then(pruneIfDue)
      .catch((error: unknown) => {
        options.logger.warn({ err: error }, "pruning published change events failed; retrying later");
      })
      .finally(() => {
        running = undefined;
        if (stopped) return;
        if (again) {
          again = false;
          run();
        } else {
          timer = setTimeout(run, pollIntervalMs);
        }
      });
  };
  run();

  return {
    nudge: run,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** The store whose every committed transaction nudges `notify` (the relay, in-process). */
export function nudgingStore(store: Store, notify: () => void): Store {
  return {
    ...store,
    transaction: async (work, options) => {
      const result = await store.transaction(work, options);
      notify();
      return result;
    },
  };
}
