import type { OffsetReader } from "@bridge/messaging";
import { LRUCache } from "lru-cache";

/**
 * Burst coalescing (docs/decisions/010). A refetch of Stripe state reflects every change whose
 * event was already in Kafka when the refetch started. So before fetching, we read the
 * partition's high watermark H; once that sync committed, any later message of the same
 * subscription on that partition with an offset below H is already reflected: it gets its inbox
 * row and no refetch. Offsets, not clocks: Stripe's `created` is a test clock's frozen time under
 * test clocks and only has second resolution, and the runtime does not expose Kafka timestamps.
 *
 * Safe by construction: a message is only skipped when it was appended before a refetch that
 * started later and committed. A failed watermark read or a restart forgets the memory: the
 * worst case is an extra fetch, never a missed change.
 */
export type Coalescer = {
  /** The log position up to which a refetch starting now will see every event; undefined if unknown. */
  snapshot(topic: string, partition: number): Promise<bigint | undefined>;
  /** Record, after commit, that `subscriptionId` reflects everything below `watermark` on topic/partition. */
  remember(topic: string, partition: number, subscriptionId: string, watermark: bigint): void;
  isReflected(topic: string, partition: number, subscriptionId: string, offset: string): boolean;
};

/** Coalescing off: every Stripe event refetches (operator actions, or `coalesce: false`). */
export const noCoalescing: Coalescer = {
  snapshot: async () => undefined,
  remember: () => {},
  isReflected: () => false,
};

/** Most recently used (topic, partition, subscription) entries kept; older ones are forgotten. */
const MAX_ENTRIES = 50_000;

export function createCoalescer(offsets: OffsetReader): Coalescer {
  const memory = new LRUCache<string, bigint>({ max: MAX_ENTRIES });
  const key = (topic: string, partition: number, sub: string) => `${topic}\u0000${partition}\u0000${sub}`;
  return {
    snapshot: (topic, partition) => offsets.highWatermark(topic, partition),
    remember(topic, partition, sub, watermark) {
      const k = key(topic, partition, sub);
      const previous = memory.get(k);
      if (previous !== undefined && previous >= watermark) return;
      memory.set(k, watermark);
    },
    isReflected(topic, partition, sub, offset) {
      const watermark = memory.get(key(topic, partition, sub));
      return watermark !== undefined && BigInt(offset) < watermark;
    },
  };
}
