import { type Catalog, parseCatalog } from "@bridge/domain";
import type { Db } from "../store.ts";
import { type OfferRecord, upsertOffers } from "./offers.ts";

/** Catalog offer → store row: the typed columns the apps query, the whole offer kept as `raw`. */
export function offerRecordOf(offer: Catalog["offers"][number]): OfferRecord {
  return {
    id: offer.id,
    version: offer.version ?? null,
    name: offer.name,
    stripeProductCode: offer.stripeProductCode,
    term: `${offer.term.length} ${offer.term.type}`,
    autoRenew: offer.autoRenew,
    charges: offer.charges,
    raw: offer,
  };
}

/**
 * Validate a catalog file's JSON with the domain schema and load its offers. Throws with every
 * invalid field named, loading nothing, when the catalog is invalid.
 */
export async function loadCatalog(db: Db, json: unknown): Promise<number> {
  const parsed = parseCatalog(json);
  if (!parsed.ok) {
    throw new Error(
      `Invalid catalog:\n  - ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join("\n  - ")}`,
    );
  }
  return upsertOffers(db, parsed.catalog.offers.map(offerRecordOf));
}
