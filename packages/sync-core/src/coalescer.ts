import type { OffsetReader } from "@bridge/messaging";
import { LRUCache } from "lru-cache";
import type { InvoiceRead } from "./fetch-stripe-state.ts";

/**
 * Burst coalescing (docs/decisions/010, 023). A refetch of Stripe state reflects every change
 * whose event was already in Kafka when the refetch started. So before fetching, we read the
 * partition's high watermark H; once that sync committed, any later message of the same
 * subscription on that partition with an offset below H is already reflected: it gets its inbox
 * row and no refetch. Offsets, not clocks: Stripe's `created` is a test clock's frozen time under
 * test clocks and only has second resolution, and the runtime does not expose Kafka timestamps.
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
   * The log position up to which a refetch starting now will see every event; undefined if
   * unknown. When the message at `offset` is the partition's newest, the rest of its burst (one
   * renewal sends half a dozen events) is probably still on its way: wait `settleMs` first, then
   * read the position, so the one refetch covers them too.
   */
  snapshot(
    topic: string,
    partition: number,
    offset: string,
    signal?: AbortSignal,
  ): Promise<bigint | undefined>;
  /** Record, after commit, that `subscriptionId` reflects what `read` read of every event below `watermark`. */
  remember(
    topic: string,
    partition: number,
    subscriptionId: string,
    watermark: bigint,
    read: InvoiceRead,
  ): void;
  isReflected(
    topic: string,
    partition: number,
    subscriptionId: string,
    offset: string,
    namedInvoice: string | undefined,
  ): boolean;
};

/** Coalescing off: every Stripe event refetches (operator actions, or `coalesce: false`). */
export const noCoalescing: Coalescer = {
  enabled: false,
  snapshot: async () => undefined,
  remember: () => {},
  isReflected: () => false,
};

/** Most recently used (topic, partition, subscription) entries kept; older ones are forgotten. */
const MAX_ENTRIES = 50_000;

type Reflected = { watermark: bigint; read: InvoiceRead };

export type CoalescerOptions = {
  /** How long a sync of the partition's newest message waits for the rest of its burst (0: never). */
  settleMs?: number;
};

export function createCoalescer(offsets: OffsetReader, options: CoalescerOptions = {}): Coalescer {
  const settleMs = options.settleMs ?? 0;
  const memory = new LRUCache<string, Reflected>({ max: MAX_ENTRIES });
  const key = (topic: string, partition: number, sub: string) => `${topic}\u0000${partition}\u0000${sub}`;
  return {
    enabled: true,
    async snapshot(topic, partition, offset, signal) {
      const now = await offsets.highWatermark(topic, partition);
      if (settleMs === 0 || now === undefined || now > BigInt(offset) + 1n) return now;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, settleMs);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      return (await offsets.highWatermark(topic, partition)) ?? now;
    },
    remember(topic, partition, sub, watermark, read) {
      const k = key(topic, partition, sub);
      const previous = memory.get(k);
      if (previous !== undefined && previous.watermark >= watermark) return;
      memory.set(k, { watermark, read });
    },
    isReflected(topic, partition, sub, offset, namedInvoice) {
      const reflected = memory.get(key(topic, partition, sub));
      if (reflected === undefined || BigInt(offset) >= reflected.watermark) return false;
      const { read } = reflected;
      return read.listed || namedInvoice === undefined || namedInvoice === read.latestInvoice;
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
