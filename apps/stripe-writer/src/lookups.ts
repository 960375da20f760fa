import type { Offer, StripeCouponCreateParams, StripePriceCreateParams } from "@bridge/domain";
import type Stripe from "stripe";

/** A Map that forgets its oldest entry past `max` entries (insertion order, refreshed on hit). */
export class BoundedCache<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();
  constructor(max: number) {
    this.#max = max;
  }
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    if (this.#max <= 0) return;
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
  }
  get size(): number {
    return this.#map.size;
  }
}

type ResolvedPrice = { priceId: string; recurring: boolean; created: boolean };

/**
 * Product and Price look-ups shared by every order of the process. Products and Prices are
 * immutable in what we use (id, amount, interval), so a cached hit needs no Stripe call; a miss
 * costs one look-up (and one create when absent).
 */
export type StripeLookups = {
  /** The Stripe customer of this email, whatever its case there; undefined when there is none. */
  findCustomerByEmail(email: string): Promise<Stripe.Customer | undefined>;
  ensureProduct(
    offer: Offer,
    idempotencyKey: string,
    metadata: Record<string, string>,
  ): Promise<{ productId: string; created: boolean }>;
  resolvePrice(
    params: StripePriceCreateParams,
    idempotencyKey: string,
    metadata: Record<string, string>,
  ): Promise<ResolvedPrice>;
  /**
   * The coupon of a discount definition, by its deterministic id (rules/discounts.ts): created
   * once, reused by every order with the same definition. A coupon holding the id with another
   * definition is never applied in its place (CouponMismatch).
   */
  ensureCoupon(
    params: StripeCouponCreateParams,
    idempotencyKey: string,
    metadata: Record<string, string>,
  ): Promise<{ couponId: string; created: boolean }>;
};

/** A coupon already holds the plan's id with different terms: applying it would bill another amount. */
export class CouponMismatch extends Error {
  override readonly name = "CouponMismatch";
}

/** The terms of a coupon that decide what it takes off (name and metadata do not). */
const couponTerms = (c: {
  percent_off?: number | null;
  amount_off?: number | null;
  currency?: string | null;
  duration: string;
  duration_in_months?: number | null;
}) =>
  JSON.stringify([
    c.percent_off ?? null,
    c.amount_off ?? null,
    c.currency?.toLowerCase() ?? null,
    c.duration,
    c.duration_in_months ?? null,
  ]);

const isMissing = (error: unknown) =>
  (error as { statusCode?: number })?.statusCode === 404 ||
  (error as { code?: string })?.code === "resource_missing";
const codeOf = (error: unknown) => (error as { code?: string })?.code;
/**
 * Stripe's answer to a price create whose lookup key another price holds: 400
 * invalid_request_error on `param: lookup_key` ("A price (`price_…`) already uses that lookup
 * key."), with no error code (docs.stripe.com/api/prices/create#create_price-lookup_key).
 */
const isTakenLookupKey = (error: unknown) =>
  (error as { statusCode?: number })?.statusCode === 400 &&
  (error as { param?: string })?.param === "lookup_key";

/** Escapes a value for a Stripe search query string literal (docs.stripe.com/search#query-language). */
const searchLiteral = (value: string) => value.replaceAll("\\", "\\\\").replaceAll("'", "\\'");

export function createStripeLookups(stripe: Stripe, options: { maxEntries: number }): StripeLookups {
  const products = new BoundedCache<string, true>(options.maxEntries);
  const prices = new BoundedCache<string, { priceId: string; recurring: boolean }>(options.maxEntries);

  async function findPrice(lookupKey: string) {
    const list = await stripe.prices.list({ lookup_keys: [lookupKey], limit: 1 });
    return list.data[0];
  }

  const coupons = new BoundedCache<string, true>(options.maxEntries);

  const byEmail = async (email: string) => (await stripe.customers.list({ email, limit: 1 })).data[0];

  return {
    /**
     * `customers.list({ email })` is case-sensitive on Stripe
     * (docs.stripe.com/api/customers/list#list_customers-email) and consistent right after writes;
     * search matches case-insensitively but only after up to a minute (docs.stripe.com/search#data-freshness).
     * So: the lower-cased form first (the customers this bridge creates), then the form as given,
     * then search, which finds a customer created elsewhere long ago as `Ada@Example.com`.
     */
    async findCustomerByEmail(email) {
      const given = email.trim();
      const lower = given.toLowerCase();
      const found = (await byEmail(lower)) ?? (given !== lower ? await byEmail(given) : undefined);
      if (found) return found;
      const searched = await stripe.customers.search({ query: `email:'${searchLiteral(given)}'`, limit: 10 });
      return searched.data.find((c) => c.email?.toLowerCase() === lower);
    },

    async ensureProduct(offer, idempotencyKey, metadata) {
      const productId = offer.stripeProductCode;
      if (products.get(productId)) return { productId, created: false };
      try {
        await stripe.products.retrieve(productId);
        products.set(productId, true);
        return { productId, created: false };
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      try {
        await stripe.products.create(
          { id: productId, name: offer.productName ?? offer.name, metadata },
          { idempotencyKey },
        );
      } catch (error) {
        // Another order (another partition) created the same catalog product since our look-up:
        // the id is the catalog's, so it is the product we wanted.
        if (codeOf(error) !== "resource_already_exists") throw error;
        products.set(productId, true);
        return { productId, created: false };
      }
      products.set(productId, true);
      return { productId, created: true };
    },

    async ensureCoupon(params, idempotencyKey, metadata) {
      const couponId = params.id;
      if (coupons.get(couponId)) return { couponId, created: false };
      const reuse = (existing: Stripe.Coupon) => {
        if (couponTerms(existing) !== couponTerms(params) || !existing.valid) {
          throw new CouponMismatch(
            `coupon ${couponId} exists with other terms (or is no longer valid): not applied in place of the order's discount`,
          );
        }
        coupons.set(couponId, true);
        return { couponId, created: false };
      };
      try {
        await stripe.coupons.create(
          { ...params, metadata: { ...params.metadata, ...metadata } },
          { idempotencyKey },
        );
      } catch (error) {
        // Another order with the same discount created it first (docs.stripe.com/api/coupons/create#create_coupon-id).
        if (codeOf(error) !== "resource_already_exists") throw error;
        return reuse(await stripe.coupons.retrieve(couponId));
      }
      coupons.set(couponId, true);
      return { couponId, created: true };
    },

    async resolvePrice(params, idempotencyKey, metadata) {
      const key = params.lookup_key;
      const cached = prices.get(key);
      if (cached) return { ...cached, created: false };
      // Reuse only an active price that still means what the key says; an archived or altered
      // one keeps the key until we create the replacement with transfer_lookup_key.
      const usable = (price: Stripe.Price | undefined): price is Stripe.Price =>
        price?.active === true &&
        price.unit_amount === params.unit_amount &&
        price.currency === params.currency &&
        (price.recurring?.interval ?? null) === (params.recurring?.interval ?? null) &&
        (price.recurring?.interval_count ?? null) === (params.recurring?.interval_count ?? null);
      const existing = await findPrice(key);
      if (usable(existing)) {
        const hit = { priceId: existing.id, recurring: existing.recurring !== null };
        prices.set(key, hit);
        return { ...hit, created: false };
      }
      try {
        const price = await stripe.prices.create(
          {
            ...params,
            metadata: { ...params.metadata, ...metadata },
            ...(existing ? { transfer_lookup_key: true } : {}),
          },
          { idempotencyKey },
        );
        const hit = { priceId: price.id, recurring: price.recurring !== null };
        prices.set(key, hit);
        return { ...hit, created: true };
      } catch (error) {
        // Another order created the same price between our look-up and create: use it.
        if (!isTakenLookupKey(error)) throw error;
        const raced = await findPrice(key);
        if (!usable(raced)) throw error;
        const hit = { priceId: raced.id, recurring: raced.recurring !== null };
        prices.set(key, hit);
        return { ...hit, created: false };
      }
    },
  };
}
