import type { Db } from "../store.ts";

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

/** Load catalog offers; re-loading the same catalog is a no-op, a changed offer is updated. */
export async function upsertOffers(db: Db, offers: OfferRecord[]): Promise<number> {
  for (const offer of offers) {
    const data = { ...offer, charges: offer.charges as never, raw: offer.raw as never };
    await db.offer.upsert({ where: { id: offer.id }, create: data, update: data });
  }
  return offers.length;
}

export async function findOffer(db: Db, id: string) {
  return db.offer.findUnique({ where: { id } });
}
