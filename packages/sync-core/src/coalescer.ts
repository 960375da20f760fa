import { setTimeout as delay } from "node:timers/promises";
import type { OffsetReader } from "@bridge/messaging";
import { LRUCache } from "lru-cache";
import type { InvoiceRead } from "./fetch-stripe-state.ts";

/**
 * Burst coalescing (docs/decisions/010, 023). A refetch of Stripe state reflects every change
 * whose event was already in Kafka when the refetch started. So before fetching, we read the
 * topic's high watermarks H (one per partition); once that sync committed, any later message of
 * the same subscription with an offset below H of its partition is already reflected: it gets its
 * inbox row and no refetch. Every partition, not only the one being read: events are keyed by
 * customer (decision 030), but a subscription's events may still sit on two partitions (those
 * appended under the older subscription-first key, or an event naming only the subscription).
 * Offsets, not clocks: Stripe's `created` is a test clock's frozen time under test clocks and only
 * has second resolution.
 *
 * A refetch that read only the latest invoice (decision 023) reflects a message below H only if
 * the message names no invoice or names that one; a message about another invoice syncs itself.
 *
 * Safe by construction: a message is only skipped when it was appended before a refetch that
 * started later, read what it names, and committed. A failed watermark read or a restart forgets
 * the memory: the worst case is an extra fetch, never a missed change.
 */
export type Coalescer = {
  /** Off: every Stripe event refetches everything, invoice list included (the bench's baseline). */
  enabled: boolean;
  /**
   * The log positions (per partition) up to which a refetch starting now will see every event;
   * undefined if unknown. A message appended (`appendedAt`, Kafka's timestamp) less than
   * `settleMs` ago is first waited on until it is that old: the rest of its burst (one renewal's
   * events, delivered together) is in Kafka by then, and the one refetch covers it too. A consumer that is behind reads older
   * messages and never waits; one that keeps up trails the log by at most `settleMs`.
   */
  snapshot(topic: string, appendedAt: number, signal?: AbortSignal): Promise<Watermarks | undefined>;
  /** Record, after commit, that `subscriptionId` reflects what `read` read of every event below `watermarks`. */
  remember(topic: string, subscriptionId: string, watermarks: Watermarks, read: InvoiceRead): void;
  isReflected(
    topic: string,
    partition: number,
    subscriptionId: string,
    offset: string,
    namedInvoice: string | undefined,
  ): boolean;
  /**
   * Runs `work` after every earlier `work` of these subscriptions in this process has finished.
   * When one subscription's events reach two partitions handled at the same time (see above),
   * the second one waits for the first one's refetch to commit and be remembered, and
   * is then reflected by it, instead of starting a refetch of its own. It would wait on the row
   * lock anyway (decision 010).
   */
  serialise<T>(topic: string, subscriptionIds: readonly string[], work: () => Promise<T>): Promise<T>;
};

/** High watermark per partition. */
type Watermarks = ReadonlyMap<number, bigint>;

/** Coalescing off: every Stripe event refetches (operator actions, or `coalesce: false`). */
export const noCoalescing: Coalescer = {
  enabled: false,
  snapshot: async () => undefined,
  remember: () => {},
  isReflected: () => false,
  serialise: (_topic, _ids, work) => work(),
};

/** Most recently used (topic, subscription) entries kept; older ones are forgotten. */
const MAX_ENTRIES = 50_000;

/** Resolves after `ms`, or at once when the consumer stops. */
const sleep = (ms: number, signal?: AbortSignal) =>
  delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/** Does `a` reach at least as far as `b` on every partition? */
const covers = (a: Watermarks, b: Watermarks) => [...b].every(([p, w]) => (a.get(p) ?? -1n) >= w);

type Reflected = { watermarks: Watermarks; read: InvoiceRead };

export type CoalescerOptions = {
  /** How long after a message's append its sync waits for the rest of its burst (0: never). */
  settleMs?: number;
  /** Test seams: the clock and the wait. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

export function createCoalescer(offsets: OffsetReader, options: CoalescerOptions = {}): Coalescer {
  const settleMs = options.settleMs ?? 0;
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const memory = new LRUCache<string, Reflected>({ max: MAX_ENTRIES });
  /** The last work queued per (topic, subscription), until it finished. */
  const tails = new Map<string, Promise<unknown>>();
  const key = (topic: string, sub: string) => `${topic}\u0000${sub}`;
  return {
    enabled: true,
    async snapshot(topic, appendedAt, signal) {
      // Never more than settleMs: the producer's clock may run ahead of this one. The watermarks
      // are read after the wait, so the wait changes only what the refetch covers, never safety.
      const remaining = Math.min(settleMs, appendedAt + settleMs - now());
      if (remaining > 0) await wait(remaining, signal);
      return offsets.highWatermarks(topic);
    },
    remember(topic, sub, watermarks, read) {
      const k = key(topic, sub);
      const previous = memory.get(k);
      // Concurrent syncs of one subscription (two partitions) may commit out of snapshot order:
      // keep the snapshot that reaches further.
      if (previous !== undefined && !covers(watermarks, previous.watermarks)) return;
      memory.set(k, { watermarks, read });
    },
    isReflected(topic, partition, sub, offset, namedInvoice) {
      const reflected = memory.get(key(topic, sub));
      const watermark = reflected?.watermarks.get(partition);
      if (reflected === undefined || watermark === undefined || BigInt(offset) >= watermark) return false;
      const { read } = reflected;
      return read.listed || namedInvoice === undefined || namedInvoice === read.latestInvoice;
    },
    serialise(topic, subs, work) {
      const keys = subs.map((s) => key(topic, s));
      // Each work waits only for works queued before it: no cycle, so no deadlock.
      const earlier = keys.flatMap((k) => tails.get(k) ?? []);
      const run = Promise.allSettled(earlier).then(work);
      const tail = run.catch(() => undefined);
      for (const k of keys) tails.set(k, tail);
      void tail.then(() => {
        for (const k of keys) if (tails.get(k) === tail) tails.delete(k);
      });
      return run;
    },
  };
}

/** The invoice a Stripe event's object names: an invoice itself, or the `invoice` of a payment, charge, credit note. */
export function invoiceNamedBy(object: Record<string, unknown>): string | undefined {
  if (object.object === "invoice" && typeof object.id === "string") return object.id;
  const invoice = object.invoice;
  if (typeof invoice === "string") return invoice;
  if (invoice && typeof invoice === "object" && typeof (invoice as { id?: unknown }).id === "string")
    return (invoice as { id: string }).id;
  return undefined;
}
