import { randomBytes } from "node:crypto";
import type { JsonObject, StoredObjects } from "./types.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** mulberry32: small seeded PRNG, good enough for deterministic ids and fault injection. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Crypto-random numbers in [0, 1), drawn 1,024 at a time (one `randomBytes` per id character was slow). */
function pooledRandom(): () => number {
  let pool = randomBytes(4096);
  let offset = 0;
  return () => {
    if (offset === pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const value = pool.readUInt32BE(offset) / 4294967296;
    offset += 4;
    return value;
  };
}

export type StoredIdempotency = {
  fingerprint: string;
  status: number;
  body: string;
  inFlight: boolean;
  createdAt: number;
};

export type RequestLogEntry = {
  requestId: string;
  method: string;
  path: string;
  route: string | null;
  idempotencyKey: string | null;
  status: number;
  at: string;
};

/** Object types the emulator stores, keyed by Stripe's `object` value. */
const OBJECT_TYPES = [
  "customer",
  "product",
  "price",
  "coupon",
  "discount",
  "payment_method",
  "setup_intent",
  "payment_intent",
  "charge",
  "subscription",
  "subscription_item",
  "subscription_schedule",
  "invoice",
  "invoiceitem",
  "invoice_payment",
  "event",
  "webhook_endpoint",
  "test_helpers.test_clock",
] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** The stored shape of one object type: the SDK's type (see StoredObjects). */
export type Stored<T extends ObjectType> = StoredObjects[T];
/** An object of any stored type. */
export type AnyStored = Stored<ObjectType>;
/** A store's content by object type (`GET /_emulator/state`, the snapshot file). */
export type Snapshot = { [T in ObjectType]?: Stored<T>[] };

/**
 * The emulator's in-memory store: one insertion-ordered map per object type, an id index,
 * idempotency records and the request log. Ids are Stripe-like (`cus_` + 24 chars) and
 * deterministic when a seed is given.
 */
export class State {
  readonly collections = new Map<ObjectType, Map<string, AnyStored>>();
  readonly index = new Map<string, ObjectType>();
  readonly idempotency = new Map<string, StoredIdempotency>();
  readonly requestLog: RequestLogEntry[] = [];
  private rng: () => number;
  private seed: number | undefined;
  private counter = 0;

  constructor(seed?: number) {
    this.seed = seed;
    this.rng = seed === undefined ? pooledRandom() : seededRandom(seed);
    for (const type of OBJECT_TYPES) this.collections.set(type, new Map());
  }

  reset(): void {
    for (const map of this.collections.values()) map.clear();
    this.index.clear();
    this.idempotency.clear();
    this.requestLog.length = 0;
    this.counter = 0;
    if (this.seed !== undefined) this.rng = seededRandom(this.seed);
  }

  random(): number {
    return this.rng();
  }

  randomString(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(this.rng() * ALPHABET.length)];
    return out;
  }

  /** `cus_` + 24 random characters (Stripe's own ids have 14–24). */
  newId(prefix: string, length = 24): string {
    this.counter++;
    return `${prefix}_${this.randomString(length)}`;
  }

  /** Monotonic sequence to order objects created within the same second. */
  nextSeq(): number {
    this.counter++;
    return this.counter;
  }

  /** The map of one object type; each map holds only objects of its type (insert is typed). */
  collection<T extends ObjectType>(type: T): Map<string, Stored<T>> {
    return this.collections.get(type)! as Map<string, Stored<T>>;
  }

  insert<T extends ObjectType>(type: T, obj: Stored<T>): Stored<T> {
    if (obj._seq === undefined) obj._seq = this.nextSeq();
    this.collection(type).set(obj.id, obj);
    this.index.set(obj.id, type);
    return obj;
  }

  get<T extends ObjectType>(type: T, id: string): Stored<T> | undefined {
    return this.collection(type).get(id);
  }

  find(id: string): AnyStored | undefined {
    const type = this.index.get(id);
    return type ? this.collection(type).get(id) : undefined;
  }

  remove(type: ObjectType, id: string): void {
    this.collection(type).delete(id);
    this.index.delete(id);
  }

  /** All objects of a type in insertion order (oldest first), without sorting. */
  values<T extends ObjectType>(type: T): Stored<T>[] {
    return [...this.collection(type).values()];
  }

  /** All objects of a type, newest first (Stripe's list order). */
  all<T extends ObjectType>(type: T): Stored<T>[] {
    return this.values(type).sort((a, b) => createdOf(b) - createdOf(a) || (b._seq ?? 0) - (a._seq ?? 0));
  }

  /** A public copy of an object: internal `_` keys removed, derived fields (subscription items) filled. */
  render(obj: object): JsonObject {
    // stripInternal copies as it goes (stored objects are plain JSON data): no clone before it.
    const copy = stripInternal(obj) as JsonObject;
    if (copy.object === "subscription") {
      const id = String(copy.id);
      const items = this.values("subscription_item")
        .filter((item) => item.subscription === id)
        .sort((a, b) => (a._seq ?? 0) - (b._seq ?? 0))
        .map((item) => this.render(item));
      copy.items = {
        object: "list",
        data: items,
        has_more: false,
        total_count: items.length,
        url: `/v1/subscription_items?subscription=${id}`,
      };
    }
    if (copy.object === "invoice" && typeof copy.id === "string" && !copy.id.startsWith("upcoming_")) {
      const id = copy.id;
      const payments = this.values("invoice_payment")
        .filter((p) => p.invoice === id)
        .sort((a, b) => (b._seq ?? 0) - (a._seq ?? 0))
        .map((p) => this.render(p));
      copy.payments = {
        object: "list",
        data: payments,
        has_more: false,
        url: `/v1/invoice_payments?invoice=${id}`,
      };
    }
    return copy;
  }

  snapshot(): Snapshot {
    const out: Snapshot = {};
    for (const type of OBJECT_TYPES) Object.assign(out, { [type]: this.values(type) });
    return out;
  }

  load(snapshot: Snapshot): void {
    for (const type of OBJECT_TYPES) this.loadType(type, snapshot[type] ?? []);
    const maxSeq = Math.max(0, ...[...this.index.keys()].map((id) => this.find(id)?._seq ?? 0));
    this.counter = maxSeq;
  }

  private loadType<T extends ObjectType>(type: T, objects: Stored<T>[]): void {
    for (const obj of objects) this.insert(type, obj);
  }
}

/** Creation time (a Discount has none: it is listed only through its subscription). */
const createdOf = (obj: AnyStored): number => ("created" in obj ? obj.created : 0);

function stripInternal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripInternal);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (!k.startsWith("_")) out[k] = stripInternal(v);
    }
    return out;
  }
  return value;
}
