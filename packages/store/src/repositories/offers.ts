import type { Offer } from "../generated/client.ts";
import type { Db } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

export type OfferRecord = {
  id: string;
  version?: string | null;
  name: string;
  stripeProductCode: string;
  term?: string | null;
  autoRenew: boolean;
  charges: unknown;
  raw: unknown;
};

/** Write offers as their current version (no version history: tests and fixtures; see loadCatalog). */
export async function upsertOffers(db: Db, offers: OfferRecord[]): Promise<number> {
  for (const offer of offers) {
    const data = { ...offer, charges: offer.charges as never, raw: offer.raw as never };
    await db.offer.upsert({ where: { id: offer.id }, create: data, update: data });
  }
  return offers.length;
}

/** The offer's current version. Through pg: every sync reads it (transaction-sql.ts says why). */
export async function findOffer(db: Db, id: string): Promise<Offer | null> {
  const [offer] = await sqlOf(db)<Offer>(`SELECT * FROM "Offer" WHERE "id" = $1`, [id]);
  return offer ?? null;
}

/** One loaded version of an offer (`raw` is the offer as parsed), or null when never loaded. */
export async function findOfferVersion(db: Db, id: string, version: string) {
  return db.offerVersion.findUnique({ where: { offerId_version: { offerId: id, version } } });
}

/**
 * The catalog offer an order names: the version it names, else the current one; `raw` of the
 * row (the parsed offer). Null when the offer, or that version of it, was never loaded.
 */
export async function findOrderedOffer(db: Db, ref: { id: string; version?: string | null }) {
  if (ref.version) return (await findOfferVersion(db, ref.id, ref.version))?.raw ?? null;
  return (await findOffer(db, ref.id))?.raw ?? null;
}
