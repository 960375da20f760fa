// Two sync-consumer replicas' relays on one outbox (real Postgres): while one publishes, the other
// gets no rows (the relay lock), so a subscription's events are never published out of order.
import { randomUUID } from "node:crypto";
import type { Envelope } from "@bridge/domain";
import { freshDatabase } from "@bridge/local-infra/testing";
import type { MessageProducer, OutgoingMessage } from "@bridge/messaging";
import {
  countUnpublishedChanges,
  createStore,
  listSubscriptionChanges,
  relaySubscriptionChanges,
  type Store,
} from "@bridge/store";
import { recordSubscriptionChange, startChangeRelay } from "@bridge/sync-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logger, until } from "../test/harness.ts";

let store: Store;
beforeAll(async () => {
  store = createStore(await freshDatabase("change-relay"), { poolSize: 6 });
});
afterAll(async () => {
  await store?.close();
});

/** A producer that records what it was asked to publish (Kafka is not what this test is about). */
function recordingProducer(published: Envelope[]): MessageProducer {
  return {
    connect: async () => {},
    publish: async () => ({ topic: "t", partition: 0, offset: "0" }),
    publishBatch: async <T>(_topic: string, messages: OutgoingMessage<T>[]) => {
      published.push(...messages.map((m) => m.envelope as Envelope));
      return [];
    },
    publishEncoded: async () => [],
    isConnected: () => true,
    disconnect: async () => {},
  };
}

const subscriptionId = `sub-${randomUUID().replaceAll("-", "")}`;
const change = (n: number) =>
  store.transaction((tx) =>
    recordSubscriptionChange(tx, {
      subscriptionId,
      type: "subscription.status_changed",
      source: "api",
      causeId: `msg-${n}`,
      changes: { stripeStatus: { from: `s${n - 1}`, to: `s${n}` } },
    }),
  );
const sequences = (envelopes: Envelope[]) => envelopes.map((e) => (e.data as { sequence: number }).sequence);

describe("the change relay with two replicas", () => {
  it("publishes one subscription's events in sequence order: the replica without the lock publishes nothing", async () => {
    for (const n of [1, 2, 3]) await change(n);
    const publishedByA: Envelope[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const claims: number[] = [];
    const relayA = startChangeRelay({
      store,
      producer: recordingProducer(publishedByA),
      topic: "t",
      logger,
      pollIntervalMs: 20,
      hooks: {
        beforePublish: async (rows) => {
          claims.push(rows.length);
          await held; // replica A mid-publish, holding the relay lock
        },
      },
    });
    try {
      await until(() => claims.length > 0, 10_000, "replica A claimed the backlog");
      for (const n of [4, 5]) await change(n);
      const publishedByB: Envelope[] = [];
      const roundB = await relaySubscriptionChanges(
        store,
        { limit: 200, timeoutMs: 10_000 },
        async (rows) => {
          publishedByB.push(...rows.map((r) => r.envelope as Envelope));
        },
      );
      expect(roundB).toEqual({ leader: false, published: 0 });
      expect(publishedByB).toEqual([]);

      release();
      await until(async () => (await countUnpublishedChanges(store.db)) === 0, 10_000, "backlog published");
      expect(claims).toEqual([3, 2]); // A's round in flight, then the rows written meanwhile
      expect(sequences(publishedByA)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      release();
      await relayA.stop();
    }
  });
});

describe("the outbox's retention", () => {
  it("deletes published events older than the retention, keeps newer and unpublished ones, and numbering goes on", async () => {
    const before = await listSubscriptionChanges(store.db, subscriptionId);
    for (const n of [6, 7, 8]) await change(n);
    await relaySubscriptionChanges(store, { limit: 200, timeoutMs: 10_000 }, async () => {});
    // Events 1–6 were published "a week ago"; 7 and 8 just now; 9 is not published yet.
    await store.db.subscriptionChange.updateMany({
      where: { subscriptionId, sequence: { lte: 6 } },
      data: { publishedAt: new Date(Date.now() - 7 * 86_400_000) },
    });
    await change(9);
    const relay = startChangeRelay({
      store,
      producer: recordingProducer([]),
      topic: "t",
      logger,
      pollIntervalMs: 20,
      hooks: {
        beforePublish: () => {
          throw new Error("Kafka is down"); // 9 stays unpublished
        },
      },
      retention: { keepMs: 86_400_000, everyMs: 0, batchSize: 2 },
    });
    try {
      await until(
        async () => (await listSubscriptionChanges(store.db, subscriptionId)).length === 3,
        10_000,
        "published events older than a day deleted",
      );
    } finally {
      await relay.stop();
    }
    expect(before.length).toBeGreaterThan(0);
    const left = await listSubscriptionChanges(store.db, subscriptionId);
    expect(left.map((r) => [r.sequence, r.publishedAt === null])).toEqual([
      [7, false],
      [8, false],
      [9, true],
    ]);
    await change(10);
    expect((await listSubscriptionChanges(store.db, subscriptionId)).at(-1)?.sequence).toBe(10);
  });
});
