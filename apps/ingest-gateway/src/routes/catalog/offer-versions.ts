import type { LimioOrder } from "@bridge/domain";
import { findOfferVersion } from "@bridge/store";
import type { RouteDeps } from "../../deps.ts";
import { HttpError } from "../../http-errors.ts";

/** The offers an order names with a version, by field path (`orderItems.0.offer`, a switch's `offer`). */
function versionedOffers(order: LimioOrder): { path: string; id: string; version: string }[] {
  const refs: { path: string; ref: { id?: unknown; version?: unknown } | undefined }[] = [];
  const items =
    (order as { orderItems?: { offer?: { id?: unknown; version?: unknown } }[] }).orderItems ?? [];
  items.forEach((item, i) => {
    refs.push({ path: `orderItems.${i}.offer`, ref: item?.offer });
  });
  if (order.order_type === "change_offer") refs.push({ path: "offer", ref: order.offer });
  return refs.flatMap(({ path, ref }) =>
    typeof ref?.id === "string" && typeof ref.version === "string"
      ? [{ path, id: ref.id, version: ref.version }]
      : [],
  );
}

/**
 * 400 naming `orderItems.N.offer.version` when an order names an offer version the catalog never
 * loaded: the writer prices the version the order names (decision 022), so an unknown one is
 * refused at the door rather than failed later.
 */
export async function refuseUnknownOfferVersions(
  db: RouteDeps["store"]["db"],
  order: LimioOrder,
): Promise<void> {
  const refs = versionedOffers(order);
  if (refs.length === 0) return;
  const found = await Promise.all(refs.map((r) => findOfferVersion(db, r.id, r.version)));
  const missing = refs.filter((_, i) => !found[i]);
  if (missing.length === 0) return;
  throw new HttpError(
    400,
    "offer_version_not_found",
    "the order names an offer version the catalog does not have",
    {
      details: missing.map((r) => ({
        path: `${r.path}.version`,
        message: `offer '${r.id}' has no version '${r.version}' in the catalog (load it with bridge catalog load or POST /api/catalog)`,
      })),
    },
  );
}
