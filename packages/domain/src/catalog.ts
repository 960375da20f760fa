import { createHash } from "node:crypto";
import { z } from "zod";
import { type FieldError, fieldErrorsOf } from "./errors.ts";
import { stripeProductId } from "./ids.ts";
import { canonicalJson } from "./orders/same-order.ts";
import { toMinorUnits } from "./rules/money.ts";

/**
 * The Limio catalog as the bridge needs it: published offers with their charges (Limio's
 * `price__limio` entries, field names kept), term, auto-renew and the Stripe product code of the
 * offer's product. Limio does not sync its catalog to Stripe; Prices are created per charge at
 * order time on this product (see rules/price-params.ts).
 */

export const intervalUnits = ["days", "weeks", "months", "years"] as const;
export type IntervalUnit = (typeof intervalUnits)[number];

/** Limio writes both `month` and `months`; we keep the plural. */
const intervalUnitSchema = z
  .enum(["day", "days", "week", "weeks", "month", "months", "year", "years"])
  .transform((u): IntervalUnit => (u.endsWith("s") ? u : `${u}s`) as IntervalUnit);

/** Limio's docs say `one_time`, its code says `onetime`; both mean a one-off charge. */
const chargeTypeSchema = z
  .enum(["recurring", "one_time", "onetime", "one_off", "one-off"])
  .transform((t): "recurring" | "one_time" => (t === "recurring" ? "recurring" : "one_time"));

/** Limio's exports write `null` for unset charge fields (`delay_interval: null`): null means absent. */
function withoutNulls(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

export const limioChargeSchema = z.preprocess(
  withoutNulls,
  z
    .object({
      name: z.string().min(1).optional(),
      label: z.string().optional(),
      value: z.union([z.string(), z.number()]),
      currencyCode: z
        .string()
        .regex(/^[A-Za-z]{3}$/, "expected an ISO 4217 currency code")
        .transform((c) => c.toUpperCase()),
      type: chargeTypeSchema,
      /** `subscription_start` | `order_date` | `delayed` (Limio's trial: billing starts after the delay). */
      trigger: z.string().optional(),
      repeat_interval: z.coerce.number().int().positive().optional(),
      repeat_interval_type: intervalUnitSchema.optional(),
      repeat_count: z.coerce.number().int().positive().optional(),
      delay_interval: z.coerce.number().int().positive().optional(),
      delay_interval_type: intervalUnitSchema.optional(),
    })
    .loose()
    .superRefine((c, ctx) => {
      try {
        toMinorUnits(c.value, c.currencyCode);
      } catch (e) {
        ctx.addIssue({ code: "custom", path: ["value"], message: (e as Error).message });
      }
      if (
        c.trigger === "delayed" &&
        (c.delay_interval === undefined || c.delay_interval_type === undefined)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["delay_interval"],
          message: "a delayed charge needs delay_interval and delay_interval_type",
        });
      }
      if (c.type === "recurring") {
        if (c.repeat_interval === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["repeat_interval"],
            message: "required for a recurring charge",
          });
        if (c.repeat_interval_type === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["repeat_interval_type"],
            message: "required for a recurring charge",
          });
      }
    }),
);
export type LimioCharge = z.infer<typeof limioChargeSchema>;

export const offerTermSchema = z
  .object({ length: z.coerce.number().int().positive(), type: intervalUnitSchema })
  .loose();

/** Offers to switch to, as Limio lists them: offer ids, names or paths (`/offers2/Digital Annual`). */
const offerListSchema = z.array(z.string().min(1)).optional();

/**
 * Limio's own attribute names are accepted for the term and auto-renew (`term__limio`,
 * `autoRenew__limio`) when the flat names are absent, so an offer copied from Limio loads as is.
 */
function limioAttributeAliases(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  return {
    ...o,
    ...(o.term === undefined && o.term__limio !== undefined ? { term: o.term__limio } : {}),
    ...(o.autoRenew === undefined && o.autoRenew__limio !== undefined
      ? { autoRenew: o.autoRenew__limio }
      : {}),
  };
}

/** The offer as the bridge keeps it: flat names, Limio's `__limio` attribute names where it has them. */
const flatOfferSchema = z.preprocess(
  limioAttributeAliases,
  z
    .object({
      id: z.string().min(1),
      version: z.string().min(1).optional(),
      name: z.string().min(1),
      displayName: z.string().optional(),
      productName: z.string().optional(),
      stripeProductCode: stripeProductId,
      charges: z.array(limioChargeSchema).min(1, "an offer needs at least one charge"),
      term: offerTermSchema,
      autoRenew: z.boolean().default(true),
      /** Where given, these decide a switch's direction (rules/switch.ts); otherwise value does. */
      upgrade_offers__limio: offerListSchema,
      downgrade_offers__limio: offerListSchema,
      /** When a switch to this offer takes effect: `immediate`, or at the next billing date. */
      switch_date__limio: z.string().min(1).optional(),
    })
    .loose()
    .superRefine((o, ctx) => {
      // A Stripe subscription bills in one currency, so an offer's charges must share it.
      const currencies = new Set(o.charges.map((c) => c.currencyCode));
      if (currencies.size > 1) {
        ctx.addIssue({
          code: "custom",
          path: ["charges"],
          message: `mixed currencies: ${[...currencies].join(", ")}`,
        });
      }
    }),
);

/**
 * Limio's attribute for a product's Stripe Product Code. Limio's docs name the attribute
 * ("Stripe Product Code") but not its key; Limio keys its own attributes `<snake_case>__limio`
 * (`product_code__limio`, `price__limio`), so this is the key we read (docs/decisions/022).
 */
export const STRIPE_PRODUCT_CODE_ATTRIBUTE = "stripe_product_code__limio";

const limioAttributesSchema = z
  .object({
    price__limio: z.array(limioChargeSchema).min(1, "an offer needs at least one charge"),
    term__limio: offerTermSchema,
    autoRenew__limio: z.boolean().optional(),
    display_name__limio: z.string().optional(),
    upgrade_offers__limio: offerListSchema,
    downgrade_offers__limio: offerListSchema,
    switch_date__limio: z.string().min(1).optional(),
    [STRIPE_PRODUCT_CODE_ATTRIBUTE]: stripeProductId.optional(),
  })
  .loose();

const limioProductSchema = z
  .object({
    name: z.string().optional(),
    path: z.string().optional(),
    attributes: z
      .object({
        display_name__limio: z.string().optional(),
        [STRIPE_PRODUCT_CODE_ATTRIBUTE]: stripeProductId.optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

/**
 * An offer as Limio exports it (Objects API, the offer snapshot on an order): `id`, `version`,
 * `name`, `path` and `data.attributes` (`price__limio`, `term__limio`, `autoRenew__limio`,
 * `switch_date__limio`, …), the Stripe Product Code on the offer's attributes or its product's.
 * Turned into the flat offer; errors keep Limio's paths (`data.attributes.price__limio.0.value`).
 */
const limioExportOfferSchema = z
  .object({
    id: z.string().min(1),
    version: z.string().min(1).optional(),
    name: z.string().min(1),
    path: z.string().optional(),
    data: z
      .object({
        attributes: limioAttributesSchema,
        products: z.array(limioProductSchema).optional(),
      })
      .loose(),
  })
  .loose()
  .transform((o, ctx) => {
    const a = o.data.attributes;
    const product = o.data.products?.find((p) => p.attributes?.[STRIPE_PRODUCT_CODE_ATTRIBUTE]);
    const stripeProductCode =
      a[STRIPE_PRODUCT_CODE_ATTRIBUTE] ?? product?.attributes?.[STRIPE_PRODUCT_CODE_ATTRIBUTE];
    if (!stripeProductCode) {
      ctx.addIssue({
        code: "custom",
        path: ["data", "attributes", STRIPE_PRODUCT_CODE_ATTRIBUTE],
        message: `required: the Stripe Product Code (prod_…), on the offer's attributes or its product's (data.products[].attributes.${STRIPE_PRODUCT_CODE_ATTRIBUTE})`,
      });
      return z.NEVER;
    }
    const { data, ...rest } = o;
    return {
      ...rest,
      displayName: a.display_name__limio,
      productName: product?.attributes?.display_name__limio ?? product?.name,
      stripeProductCode,
      charges: a.price__limio,
      term: a.term__limio,
      autoRenew: a.autoRenew__limio ?? true,
      upgrade_offers__limio: a.upgrade_offers__limio,
      downgrade_offers__limio: a.downgrade_offers__limio,
      switch_date__limio: a.switch_date__limio,
    };
  });

/** Limio's export shape has `data.attributes`; anything else is the flat shape. */
const isLimioExport = (value: unknown): boolean => {
  const data = (value as { data?: { attributes?: unknown } } | null)?.data;
  return typeof data?.attributes === "object" && data.attributes !== null;
};

/** One catalog offer in either shape, validated with the schema of its shape (paths stay readable). */
export const offerSchema = z.unknown().transform((value, ctx): z.infer<typeof flatOfferSchema> => {
  const limio = isLimioExport(value) ? limioExportOfferSchema.safeParse(value) : undefined;
  const r = limio && !limio.success ? limio : flatOfferSchema.safeParse(limio ? limio.data : value);
  if (r.success) return r.data as z.infer<typeof flatOfferSchema>;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, code: "custom", input: undefined });
  return z.NEVER;
});
export type Offer = z.infer<typeof offerSchema>;

/** A catalog file: `{ offers: [...] }`, or Limio's export, a bare array of offers. */
export const catalogSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { offers: value } : value),
  z
    .object({ name: z.string().optional(), offers: z.array(offerSchema) })
    .loose()
    .superRefine((c, ctx) => {
      const seen = new Set<string>();
      c.offers.forEach((o, i) => {
        if (seen.has(o.id))
          ctx.addIssue({
            code: "custom",
            path: ["offers", i, "id"],
            message: `duplicate offer id '${o.id}'`,
          });
        seen.add(o.id);
      });
    }),
);
export type Catalog = z.infer<typeof catalogSchema>;

/** A refused catalog field, with the id of the offer it belongs to when that offer has one. */
export type CatalogError = FieldError & { offerId?: string };
export type ParseCatalogResult = { ok: true; catalog: Catalog } | { ok: false; errors: CatalogError[] };

export function parseCatalog(json: unknown): ParseCatalogResult {
  const r = catalogSchema.safeParse(json);
  if (r.success) return { ok: true, catalog: r.data };
  const offers = Array.isArray(json) ? json : (json as { offers?: unknown } | null)?.offers;
  return {
    ok: false,
    errors: r.error.issues.map((issue) => {
      const [error] = fieldErrorsOf([issue]);
      const index = issue.path[0] === "offers" ? issue.path[1] : undefined;
      const id = typeof index === "number" && Array.isArray(offers) ? offers[index]?.id : undefined;
      return typeof id === "string" && id !== "" ? { ...error!, offerId: id } : error!;
    }),
  };
}

/** `offer '<id>' offers.2.data.attributes.price__limio.0.value: <message>`, one per line. */
export const describeCatalogErrors = (errors: CatalogError[]): string =>
  errors.map((e) => `${e.offerId ? `offer '${e.offerId}' ` : ""}${e.path}: ${e.message}`).join("\n");

/**
 * The offer's version: Limio's own (a 40-hex hash of the published offer) when the file gives
 * one, else the SHA-1 of the offer's content, so a changed offer without a version still gets a
 * new one and an unchanged one keeps its own.
 */
export function offerVersionOf(offer: Offer): string {
  if (offer.version) return offer.version;
  const { version: _omit, ...content } = offer;
  return createHash("sha1").update(canonicalJson(content)).digest("hex");
}

export function findOffer(catalog: Catalog, offerId: string): Offer | undefined {
  return catalog.offers.find((o) => o.id === offerId);
}

/** Where the demo catalog lives (a news publisher in GBP/USD/JPY); loaded into the store by its seed. */
export const demoCatalogUrl: URL = new URL("../catalog/demo-catalog.json", import.meta.url);

/** The offer's billing currency (all charges share it, see offerSchema). */
export const offerCurrency = (offer: Offer): string => offer.charges[0]!.currencyCode;
