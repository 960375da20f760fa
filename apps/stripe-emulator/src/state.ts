import { randomBytes } from "node:crypto";
import type { StoredPaymentMethod, StripeObject } from "./types.ts";

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

/**
 * The stored shape per object type: the official SDK's type (plus internal `_` fields) where the
 * emulator's objects are typed so far, else the untyped StripeObject (what issue 14 still asks).
 */
type TypedObjects = { payment_method: StoredPaymentMethod };
export type Stored<T extends ObjectType> = T extends keyof TypedObjects ? TypedObjects[T] : StripeObject;

/**
 * The emulator's in-memory store: one insertion-ordered map per object type, an id index,
 * idempotency records and the request log. Ids are Stripe-like (`cus_` + 24 chars) and
 * deterministic when a seed is given.
 */
export class State {
  readonly collections = new Map<ObjectType, Map<string, StripeObject>>();
  readonly index = new Map<string, ObjectType>();
  readonly idempotency = new Map<string, StoredIdempotency>();
  readonly requestLog: RequestLogEntry[] = [];
  private rng: () => number;
  private seed: number | undefined;
  private counter = 0;

  constructor(seed?: number) {
    this.seed = seed;
    this.rng = seed === undefined ? () => randomBytes(4).readUInt32BE() / 4294967296 : seededRandom(seed);
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

  collection(type: ObjectType): Map<string, StripeObject> {
    return this.collections.get(type)!;
  }

  insert(type: ObjectType, obj: StripeObject): StripeObject {
    if (obj._seq === undefined) obj._seq = this.nextSeq();
    this.collection(type).set(obj.id, obj);
    this.index.set(obj.id, type);
    return obj;
  }

  get<T extends ObjectType>(type: T, id: string): Stored<T> | undefined {
    return this.collection(type).get(id) as Stored<T> | undefined;
  }

  find(id: string): StripeObject | undefined {
    const type = this.index.get(id);
    return type ? this.collection(type).get(id) : undefined;
  }

  remove(type: ObjectType, id: string): void {
    this.collection(type).delete(id);
    this.index.delete(id);
  }

  /** All objects of a type in insertion order (oldest first), without sorting. */
  values<T extends ObjectType>(type: T): Stored<T>[] {
    return [...this.collection(type).values()] as Stored<T>[];
  }

  /** All objects of a type, newest first (Stripe's list order). */
  all(type: ObjectType): StripeObject[] {
    return [...this.collection(type).values()].sort((a, b) => b.created - a.created || b._seq - a._seq);
  }

  /** A public copy of an object: internal `_` keys removed, derived fields (subscription items) filled. */
  render(obj: StripeObject): StripeObject {
    const copy = stripInternal(structuredClone(obj)) as StripeObject;
    if (obj.object === "subscription") {
      const items = [...this.collection("subscription_item").values()]
        .filter((item) => item.subscription === obj.id)
        .sort((a, b) => a._seq - b._seq)
        .map((item) => this.render(item));
      copy.items = {
        object: "list",
        data: items,
        has_more: false,
        total_count: items.length,
        url: `/v1/subscription_items?subscription=${obj.id}`,
      };
    }
    if (obj.object === "invoice" && !obj.id.startsWith("upcoming_")) {
      const payments = [...this.collection("invoice_payment").values()]
        .filter((p) => p.invoice === obj.id)
        .sort((a, b) => b._seq - a._seq)
        .map((p) => this.render(p));
      copy.payments = {
        object: "list",
        data: payments,
        has_more: false,
        url: `/v1/invoice_payments?invoice=${obj.id}`,
      };
    }
    return copy;
  }

  snapshot(): Record<string, StripeObject[]> {
    const out: Record<string, StripeObject[]> = {};
    for (const [type, map] of this.collections) out[type] = [...map.values()];
    return out;
  }

  load(snapshot: Record<string, StripeObject[]>): void {
    for (const type of OBJECT_TYPES) {
      for (const obj of snapshot[type] ?? []) this.insert(type, obj);
    }
    const maxSeq = Math.max(0, ...[...this.index.keys()].map((id) => this.find(id)?._seq ?? 0));
    this.counter = maxSeq;
  }
}

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
