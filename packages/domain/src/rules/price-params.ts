import type { IntervalUnit, LimioCharge, Offer } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import { toMinorUnits } from "./money.ts";

/**
 * Offer charge → Stripe Price create params. The lookup key is derived from everything that
 * makes the Price what it is, so the writer finds an existing Price by key (one cached call)
 * and a changed charge yields a new key (the writer creates it with `transfer_lookup_key`).
 */

export type StripeInterval = "day" | "week" | "month" | "year";
export type StripeRecurring = { interval: StripeInterval; interval_count: number };

/** The subset of Stripe's PriceCreateParams the bridge sets. */
export type StripePriceCreateParams = {
  currency: string;
  unit_amount: number;
  product: string;
  recurring?: StripeRecurring;
  nickname: string;
  lookup_key: string;
  metadata: Record<string, string>;
};

const UNIT_TO_INTERVAL: Record<IntervalUnit, StripeInterval> = {
  days: "day",
  weeks: "week",
  months: "month",
  years: "year",
};
/** Stripe allows at most three years between billings. */
const MAX_INTERVAL_COUNT: Record<StripeInterval, number> = { day: 1095, week: 156, month: 36, year: 3 };

export const LOOKUP_KEY_MAX = 200;

/** `repeat_interval` + `repeat_interval_type` → Stripe `recurring`; undefined for a one-off charge. */
export function stripeRecurring(charge: LimioCharge): StripeRecurring | undefined {
  if (charge.type !== "recurring") return undefined;
  const interval = UNIT_TO_INTERVAL[charge.repeat_interval_type!];
  const count = charge.repeat_interval!;
  if (count > MAX_INTERVAL_COUNT[interval]) {
    throw new DomainRuleError(
      "interval_too_long",
      `charge repeats every ${count} ${interval}s; Stripe allows at most ${MAX_INTERVAL_COUNT[interval]}`,
    );
  }
  return { interval, interval_count: count };
}

/** FNV-1a 64-bit: a stable, dependency-free hash for shortening keys (not a security boundary). */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

export type LookupKeyParts = {
  offerId: string;
  chargeIndex: number;
  product: string;
  currency: string;
  unitAmount: number;
  recurring: StripeRecurring | undefined;
};

/**
 * `limio:<offer id>:<charge index>:<product>:<currency>:<minor amount>:<interval>`, e.g.
 * `limio:cd6a…:0:prod_X:gbp:999:1month`. The offer version is left out on purpose: republishing
 * an offer with the same prices must reuse the same Price. Keys over 200 characters (Stripe's
 * limit) keep their head and end in a hash of the full key, so they stay unique and stable.
 */
export function priceLookupKey(p: LookupKeyParts): string {
  const interval = p.recurring ? `${p.recurring.interval_count}${p.recurring.interval}` : "once";
  const key = [
    "limio",
    p.offerId,
    p.chargeIndex,
    p.product,
    p.currency.toLowerCase(),
    p.unitAmount,
    interval,
  ].join(":");
  if (key.length <= LOOKUP_KEY_MAX) return key;
  const tail = `~${fnv1a64(key)}`;
  return key.slice(0, LOOKUP_KEY_MAX - tail.length) + tail;
}

/** Charges are identified by their index in the offer (names are optional and not unique in Limio). */
export function buildPriceParams(offer: Offer, chargeIndex: number): StripePriceCreateParams {
  const charge = offer.charges[chargeIndex];
  if (!charge) {
    throw new DomainRuleError("unknown_charge", `offer '${offer.id}' has no charge #${chargeIndex}`);
  }
  const unitAmount = toMinorUnits(charge.value, charge.currencyCode);
  const recurring = stripeRecurring(charge);
  const currency = charge.currencyCode.toLowerCase();
  const chargeName = charge.name ?? charge.label ?? `charge ${chargeIndex + 1}`;
  return {
    currency,
    unit_amount: unitAmount,
    product: offer.stripeProductCode,
    ...(recurring ? { recurring } : {}),
    nickname: `${offer.name}: ${chargeName}`.slice(0, 250),
    lookup_key: priceLookupKey({
      offerId: offer.id,
      chargeIndex,
      product: offer.stripeProductCode,
      currency,
      unitAmount,
      recurring,
    }),
    metadata: {
      limio_offer_id: offer.id,
      ...(offer.version ? { limio_offer_version: offer.version } : {}),
      limio_charge_index: String(chargeIndex),
      limio_charge_name: chargeName.slice(0, 500),
    },
  };
}

/** One params object per charge, in offer order (recurring → subscription items, one-off → invoice items). */
export const buildOfferPriceParams = (offer: Offer): StripePriceCreateParams[] =>
  offer.charges.map((_, i) => buildPriceParams(offer, i));
