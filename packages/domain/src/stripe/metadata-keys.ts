import { intervalUnits } from "../catalog.ts";
import type { OfferTerm, Span } from "../rules/term.ts";
import type { StripeMetadata } from "./types.ts";

/**
 * Metadata keys the bridge stamps on Stripe objects. The writer sets them, the sync reads them:
 * one name for both sides. Stripe metadata values are strings.
 */

/** On a Price (and the subscription): the Limio offer it bills. */
export const LIMIO_OFFER_ID = "limio_offer_id";
/** On a subscription: the Limio term it was bought with, `term__limio.length` ("12"). */
export const LIMIO_TERM_LENGTH = "limio_term_length";
/** On a subscription: `term__limio.type`, plural ("months" | "years" | "weeks" | "days"). */
export const LIMIO_TERM_TYPE = "limio_term_type";
/** On a subscription: "true" | "false"; false = a fixed term (the writer also sets `cancel_at`). */
export const LIMIO_AUTO_RENEW = "limio_auto_renew";
/**
 * On a subscription with a fixed term: the term end the writer asked Stripe for, in unix seconds
 * ("1798761600"), the very number it sends as `cancel_at` (decision 025). Seconds, not ISO, so
 * the sync compares it with `cancel_at` as it is, with no parsing or rounding in between.
 */
export const LIMIO_TERM_END = "limio_term_end";

/** The metadata the writer stamps on a new subscription for its offer term. */
export function offerTermMetadata(t: OfferTerm): Record<string, string> {
  return {
    [LIMIO_TERM_LENGTH]: String(t.term.length),
    [LIMIO_TERM_TYPE]: t.term.type,
    [LIMIO_AUTO_RENEW]: String(t.autoRenew),
  };
}

/** The metadata of a fixed term's end, `cancelAt` being the unix seconds sent as `cancel_at`. */
export function termEndMetadata(cancelAt: number): Record<string, string> {
  return { [LIMIO_TERM_END]: String(cancelAt) };
}

/** The fixed term's end the writer recorded (unix seconds), or undefined when absent or malformed. */
export function termEndFromMetadata(metadata: StripeMetadata | null | undefined): number | undefined {
  const end = metadata?.[LIMIO_TERM_END];
  return typeof end === "string" && /^[1-9]\d*$/.test(end) ? Number(end) : undefined;
}

/**
 * The offer term stamped on a subscription, or undefined when the keys are absent or malformed
 * (an imported subscription, or one created before the writer stamped them): the caller falls
 * back to the catalog. A missing or unreadable auto-renew counts as renewing (Limio's default).
 */
export function offerTermFromMetadata(metadata: StripeMetadata | null | undefined): OfferTerm | undefined {
  const length = metadata?.[LIMIO_TERM_LENGTH];
  const type = metadata?.[LIMIO_TERM_TYPE];
  if (typeof length !== "string" || !/^[1-9]\d*$/.test(length)) return undefined;
  if (!intervalUnits.includes(type as Span["type"])) return undefined;
  return {
    term: { length: Number(length), type: type as Span["type"] },
    autoRenew: metadata?.[LIMIO_AUTO_RENEW] !== "false",
  };
}
