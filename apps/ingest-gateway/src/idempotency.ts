import { hash, randomUUID } from "node:crypto";
import { canonicalJson, generateLimioReference, orderContent, type RandomBytes } from "@bridge/domain";

/**
 * Idempotency without writes (docs/decisions/008-gateway-idempotency.md): every id of an order is
 * derived from its idempotency identity, so a resubmission publishes the same order id again and
 * gets the same answer; the writer dedups by order id.
 */

export type OrderIdentity =
  | { kind: "idempotency_key"; value: string }
  | { kind: "external_id"; value: string }
  | { kind: "random"; value: string };

// One-shot hashing: an order derives five digests, and a Hash object each cost more than the digest.
const sha256 = (input: string) => hash("sha256", input, "buffer");

/** The identity of a submission: the Idempotency-Key header, else source + external_id, else random. */
export function orderIdentity(input: {
  idempotencyKey?: string | undefined;
  source: string;
  externalId?: string | undefined;
}): OrderIdentity {
  if (input.idempotencyKey) return { kind: "idempotency_key", value: `key:${input.idempotencyKey}` };
  if (input.externalId) return { kind: "external_id", value: `ext:${input.source}:${input.externalId}` };
  return { kind: "random", value: `random:${randomUUID()}` };
}

/** A deterministic byte stream (SHA-256 in counter mode) standing in for randomness. */
function deterministicBytes(seed: string): RandomBytes {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.length < n) pool = Buffer.concat([pool, sha256(`${seed}#${counter++}`)]);
    const out = new Uint8Array(pool.subarray(0, n));
    pool = pool.subarray(n);
    return out;
  };
}

export type DerivedOrderIds = {
  orderId: string;
  orderReference: string;
  /** For new orders: the Limio subscription the order will create. */
  newSubscriptionId: string;
  newSubscriptionReference: string;
};

/**
 * `order-` + the first 32 hex of sha256(`<api key name>:<identity>`); the new subscription id and
 * both 12-character references are derived from the order id the same way. Scoping by API key
 * name keeps two clients' idempotency keys from ever colliding.
 */
export function deriveOrderIds(apiKeyName: string, identity: OrderIdentity): DerivedOrderIds {
  return idsOfOrder(deriveOrderId(apiKeyName, identity));
}

/** The order id alone (what an idempotency look-up needs), without the references. */
export function deriveOrderId(apiKeyName: string, identity: OrderIdentity): string {
  return `order-${sha256(`${apiKeyName}:${identity.value}`).toString("hex").slice(0, 32)}`;
}

/** The references and new subscription that belong to an order id (all derived from it). */
export function idsOfOrder(orderId: string): DerivedOrderIds {
  return {
    orderId,
    orderReference: generateLimioReference(deterministicBytes(`order-reference:${orderId}`)),
    newSubscriptionId: `sub-${sha256(`subscription:${orderId}`).toString("hex").slice(0, 32)}`,
    newSubscriptionReference: generateLimioReference(deterministicBytes(`subscription-reference:${orderId}`)),
  };
}

/**
 * Hash of an order payload as published (`data.order`) or as the writer recorded it
 * (`Order.payload`, which may be the whole `data` of the message); see `orderContent`.
 */
export function orderPayloadHash(payload: unknown): string {
  return hash("sha256", orderContent(payload), "hex");
}

/**
 * The top-level fields in which two payloads (as in `orderPayloadHash`) differ, sorted, leaving
 * out `assigned` (fields the gateway fills in from the order id): what a 409 names. Empty when
 * they are the same order.
 */
export function conflictingFields(a: unknown, b: unknown, assigned: readonly string[] = []): string[] {
  if (orderPayloadHash(a) === orderPayloadHash(b)) return [];
  const left = JSON.parse(orderContent(a)) as Record<string, unknown>;
  const right = JSON.parse(orderContent(b)) as Record<string, unknown>;
  const names = new Set([...Object.keys(left), ...Object.keys(right)]);
  return [...names]
    .filter((name) => !assigned.includes(name) && canonicalJson(left[name]) !== canonicalJson(right[name]))
    .sort();
}
