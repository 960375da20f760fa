import {
  type OfferTerm,
  offerTermFromMetadata,
  parseSpan,
  type StripeSubscriptionLike,
} from "@bridge/domain";

/** The catalog offer's fields the term needs (a store Offer row). */
export type CatalogOfferTerm = { term?: string | null; autoRenew: boolean } | null | undefined;

/**
 * The Limio offer term the sync shows (docs/decisions/025): what the subscription bought, as the
 * writer stamped it on its metadata; else the catalog's term of the offer Stripe bills (its
 * price's `limio_offer_id`); else undefined, and Limio's term is the billing period.
 */
export function offerTermFor(
  subscription: Pick<StripeSubscriptionLike, "metadata">,
  catalogOffer: CatalogOfferTerm,
): OfferTerm | undefined {
  const bought = offerTermFromMetadata(subscription.metadata);
  if (bought) return bought;
  const term = parseSpan(catalogOffer?.term);
  return term && catalogOffer ? { term, autoRenew: catalogOffer.autoRenew } : undefined;
}
