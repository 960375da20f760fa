import { z } from "zod";

/**
 * Limio and Stripe identifier formats. Limio ids are `<kind>-<32 lowercase hex>` (Objects API);
 * order and subscription references are 12-character human codes.
 */

/** Returns `n` random bytes. Injected so id generation is deterministic in tests. */
export type RandomBytes = (n: number) => Uint8Array;

/** Web Crypto is a global in Node 24 and browsers: no import, no I/O. */
export const cryptoRandomBytes: RandomBytes = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

const HEX32 = "[0-9a-f]{32}";

export const limioIdPrefixes = {
  subscription: "sub",
  order: "order",
  customer: "cus",
  schedule: "schedule",
  event: "event",
  address: "address",
  paymentMethod: "pm",
} as const;
export type LimioIdKind = keyof typeof limioIdPrefixes;

const limioIdPattern = (prefix: string) => new RegExp(`^${prefix}-${HEX32}$`);
const limioId = (kind: LimioIdKind) =>
  z
    .string()
    .regex(
      limioIdPattern(limioIdPrefixes[kind]),
      `expected a Limio ${kind} id '${limioIdPrefixes[kind]}-<32 hex>'`,
    );

export const limioSubscriptionId = limioId("subscription");
export const limioOrderId = limioId("order");
export const limioCustomerId = limioId("customer");
export const limioScheduleId = limioId("schedule");
export const limioEventId = limioId("event");
export const limioAddressId = limioId("address");
export const limioPaymentMethodId = limioId("paymentMethod");
/** Limio identity (an order's and its objects' `owner`): `id-<32 hex>`. */
export const limioIdentityId = z
  .string()
  .regex(new RegExp(`^id-${HEX32}$`), "expected a Limio identity id 'id-<32 hex>'");

/**
 * Limio's own references contain every uppercase letter and digit (e.g. `29CVVO5SJFR0`), so the
 * schema accepts [A-Z0-9]; the generator avoids 0/O/1/I/L so codes we mint survive being read
 * aloud to a call centre.
 */
export const limioReference = z
  .string()
  .regex(/^[A-Z0-9]{12}$/, "expected a 12-character reference [A-Z0-9]");
export const REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const REFERENCE_LENGTH = 12;

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function generateLimioId(kind: LimioIdKind, random: RandomBytes = cryptoRandomBytes): string {
  const bytes = random(16);
  if (bytes.length !== 16) throw new Error(`random source returned ${bytes.length} bytes, expected 16`);
  return `${limioIdPrefixes[kind]}-${toHex(bytes)}`;
}

export const generateLimioSubscriptionId = (random?: RandomBytes) => generateLimioId("subscription", random);
export const generateLimioOrderId = (random?: RandomBytes) => generateLimioId("order", random);
export const generateLimioCustomerId = (random?: RandomBytes) => generateLimioId("customer", random);
export const generateLimioScheduleId = (random?: RandomBytes) => generateLimioId("schedule", random);
export const generateLimioEventId = (random?: RandomBytes) => generateLimioId("event", random);

/** 12 characters from REFERENCE_ALPHABET; rejection sampling keeps every character equally likely. */
export function generateLimioReference(random: RandomBytes = cryptoRandomBytes): string {
  const n = REFERENCE_ALPHABET.length;
  const limit = 256 - (256 % n); // bytes >= limit would bias towards the first characters
  let out = "";
  for (let guard = 0; out.length < REFERENCE_LENGTH; guard++) {
    if (guard > 64) throw new Error("random source keeps returning out-of-range bytes");
    for (const b of random(REFERENCE_LENGTH)) {
      if (b < limit && out.length < REFERENCE_LENGTH) out += REFERENCE_ALPHABET[b % n];
    }
  }
  return out;
}

/** Stripe object id prefixes we handle. `sub_sched_` must not be mistaken for `sub_`. */
export const stripeIdPrefixes = {
  customer: "cus_",
  subscription: "sub_",
  subscriptionSchedule: "sub_sched_",
  subscriptionItem: "si_",
  price: "price_",
  product: "prod_",
  invoice: "in_",
  paymentMethod: "pm_",
  paymentIntent: "pi_",
  setupIntent: "seti_",
  event: "evt_",
} as const;
export type StripeIdKind = keyof typeof stripeIdPrefixes;

const stripeIdPatterns: Record<StripeIdKind, RegExp> = {
  customer: /^cus_[A-Za-z0-9]+$/,
  subscription: /^sub_(?!sched_)[A-Za-z0-9]+$/,
  subscriptionSchedule: /^sub_sched_[A-Za-z0-9]+$/,
  subscriptionItem: /^si_[A-Za-z0-9]+$/,
  price: /^price_[A-Za-z0-9]+$/,
  product: /^prod_[A-Za-z0-9]+$/,
  invoice: /^in_[A-Za-z0-9]+$/,
  // Stripe's test-mode ids (pm_card_visa, pm_card_chargeDeclined…) contain underscores.
  paymentMethod: /^pm_[A-Za-z0-9_]+$/,
  paymentIntent: /^pi_[A-Za-z0-9]+$/,
  setupIntent: /^seti_[A-Za-z0-9]+$/,
  event: /^evt_[A-Za-z0-9]+$/,
};

export function isStripeId(kind: StripeIdKind, value: unknown): value is string {
  return typeof value === "string" && stripeIdPatterns[kind].test(value);
}

const stripeId = (kind: StripeIdKind) =>
  z.string().regex(stripeIdPatterns[kind], `expected a Stripe ${kind} id '${stripeIdPrefixes[kind]}…'`);

export const stripeCustomerId = stripeId("customer");
export const stripeSubscriptionId = stripeId("subscription");
export const stripeScheduleId = stripeId("subscriptionSchedule");
export const stripeSubscriptionItemId = stripeId("subscriptionItem");
export const stripePriceId = stripeId("price");
export const stripeProductId = stripeId("product");
export const stripeInvoiceId = stripeId("invoice");
export const stripePaymentMethodId = stripeId("paymentMethod");
export const stripePaymentIntentId = stripeId("paymentIntent");
export const stripeSetupIntentId = stripeId("setupIntent");
export const stripeEventId = stripeId("event");
