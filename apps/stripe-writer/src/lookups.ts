import type { Offer, StripePriceCreateParams } from "@bridge/domain";
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

export type ResolvedPrice = { priceId: string; recurring: boolean; created: boolean };

/**
 * Product and Price look-ups shared by every order of the process. Products and Prices are
 * immutable in what we use (id, amount, interval), so a cached hit needs no Stripe call; a miss
 * costs one look-up (and one create when absent).
 */
export type StripeLookups = {
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
};

const isMissing = (error: unknown) =>
  (error as { statusCode?: number })?.statusCode === 404 ||
  (error as { code?: string })?.code === "resource_missing";
const codeOf = (error: unknown) => (error as { code?: string })?.code;

export function createStripeLookups(stripe: Stripe, options: { maxEntries: number }): StripeLookups {
  const products = new BoundedCache<string, true>(options.maxEntries);
  const prices = new BoundedCache<string, { priceId: string; recurring: boolean }>(options.maxEntries);

  async function findPrice(lookupKey: string) {
    const list = await stripe.prices.list({ lookup_keys: [lookupKey], limit: 1 });
    return list.data[0];
  }

  return {
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

    async resolvePrice(params, idempotencyKey, metadata) {
      const key = params.lookup_key;
      const cached = prices.get(key);
      if (cached) return { ...cached, created: false };
      const existing = await findPrice(key);
      // Reuse only an active price that still means what the key says; an archived or altered
      // one keeps the key until we create the replacement with transfer_lookup_key.
      const usable =
        existing?.active &&
        existing.unit_amount === params.unit_amount &&
        existing.currency === params.currency &&
        (existing.recurring?.interval ?? null) === (params.recurring?.interval ?? null) &&
        (existing.recurring?.interval_count ?? null) === (params.recurring?.interval_count ?? null);
      if (existing && usable) {
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
        if (codeOf(error) !== "lookup_key_already_exists") throw error;
        const raced = await findPrice(key);
        if (!raced) throw error;
        const hit = { priceId: raced.id, recurring: raced.recurring !== null };
        prices.set(key, hit);
        return { ...hit, created: false };
      }
    },
  };
}
