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

/** How many known versions a gateway remembers (then it starts over): a catalog holds far fewer. */
const KNOWN_VERSIONS_LIMIT = 10_000;

/**
 * 400 naming `orderItems.N.offer.version` when an order names an offer version the catalog never
 * loaded: the writer prices the version the order names (decision 022), so an unknown one is
 * refused at the door rather than failed later.
 *
 * A version once found is remembered: versions are kept and never changed (decision 022), so a
 * known one stays known and only the first order naming it reads the store (decision 028). An
 * unknown one is asked again every time: the catalog may load it at any moment.
 */
export function createOfferVersionCheck(db: RouteDeps["store"]["db"]) {
  const known = new Set<string>();
  const isKnown = async (ref: { id: string; version: string }) => {
    const name = `${ref.id}@${ref.version}`;
    if (known.has(name)) return true;
    if (!(await findOfferVersion(db, ref.id, ref.version))) return false;
    if (known.size >= KNOWN_VERSIONS_LIMIT) known.clear();
    known.add(name);
    return true;
  };
  return async function refuseUnknownOfferVersions(order: LimioOrder): Promise<void> {
    const refs = versionedOffers(order);
    if (refs.length === 0) return;
    const found = await Promise.all(refs.map(isKnown));
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
  };
}
