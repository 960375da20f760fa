import {
  type Catalog,
  type CatalogError,
  canonicalJson,
  describeCatalogErrors,
  type Offer,
  offerVersionOf,
  parseCatalog,
} from "@bridge/domain";
import type { Db, Tx } from "../store.ts";
import type { OfferRecord } from "./offers.ts";

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

/** A catalog that cannot be loaded; `errors` name each offer and field. Nothing was loaded. */
export class CatalogLoadError extends Error {
  override readonly name = "CatalogLoadError";
  readonly errors: CatalogError[];
  constructor(errors: CatalogError[]) {
    super(`Invalid catalog:\n  - ${describeCatalogErrors(errors).split("\n").join("\n  - ")}`);
    this.errors = errors;
  }
}

/** What loading did to one offer: new offer, new current version, or nothing. */
export type OfferChange = "added" | "updated" | "unchanged";
export type CatalogLoadResult = {
  offers: { id: string; version: string; name: string; change: OfferChange }[];
};

/**
 * Validate a catalog (the bridge's `{ offers }` or Limio's offer export) and load it, all or
 * nothing. Offers are versioned as Limio's are (docs/decisions/022-offer-versions.md): each
 * offer's version (Limio's, else a hash of its content) is kept for good, and becomes the offer's
 * current version; a version already loaded with other content is refused, since orders and
 * subscriptions that name it must keep its prices. Loading the same catalog again changes nothing.
 */
export async function loadCatalog(db: Db, json: unknown): Promise<CatalogLoadResult> {
  const parsed = parseCatalog(json);
  if (!parsed.ok) throw new CatalogLoadError(parsed.errors);
  const work = async (tx: Tx): Promise<CatalogLoadResult> => {
    const conflicts: CatalogError[] = [];
    const result: CatalogLoadResult = { offers: [] };
    for (const [index, parsedOffer] of parsed.catalog.offers.entries()) {
      const offer: Offer = { ...parsedOffer, version: offerVersionOf(parsedOffer) };
      const version = offer.version!;
      const content = canonicalJson(offer);
      const [loaded, current] = await Promise.all([
        tx.offerVersion.findUnique({ where: { offerId_version: { offerId: offer.id, version } } }),
        tx.offer.findUnique({ where: { id: offer.id } }),
      ]);
      if (loaded && canonicalJson(loaded.raw) !== content) {
        conflicts.push({
          offerId: offer.id,
          path: `offers.${index}.version`,
          message: `version ${version} is already loaded with other content; a published version never changes, so publish the change as a new version`,
        });
        continue;
      }
      const change: OfferChange = !current
        ? "added"
        : current.version === version && canonicalJson(current.raw) === content
          ? "unchanged"
          : "updated";
      if (change !== "unchanged") {
        const { id, ...row } = offerRecordOf(offer);
        const data = { ...row, charges: row.charges as never, raw: row.raw as never };
        await tx.offer.upsert({ where: { id }, create: { id, ...data }, update: data });
      }
      if (!loaded)
        await tx.offerVersion.create({ data: { offerId: offer.id, version, raw: offer as never } });
      result.offers.push({ id: offer.id, version, name: offer.name, change });
    }
    if (conflicts.length > 0) throw new CatalogLoadError(conflicts);
    return result;
  };
  return "$transaction" in db ? db.$transaction(work, { timeout: 60_000, maxWait: 10_000 }) : work(db);
}
