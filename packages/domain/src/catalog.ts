import { z } from "zod";
import { type FieldError, fieldErrorsOf } from "./errors.ts";
import { stripeProductId } from "./ids.ts";
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

export const limioChargeSchema = z
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
    if (c.trigger === "delayed" && (c.delay_interval === undefined || c.delay_interval_type === undefined)) {
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
  });
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

export const offerSchema = z.preprocess(
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
export type Offer = z.infer<typeof offerSchema>;

export const catalogSchema = z
  .object({ name: z.string().optional(), offers: z.array(offerSchema) })
  .loose()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.offers.forEach((o, i) => {
      if (seen.has(o.id))
        ctx.addIssue({ code: "custom", path: ["offers", i, "id"], message: `duplicate offer id '${o.id}'` });
      seen.add(o.id);
    });
  });
export type Catalog = z.infer<typeof catalogSchema>;

export type ParseCatalogResult = { ok: true; catalog: Catalog } | { ok: false; errors: FieldError[] };

export function parseCatalog(json: unknown): ParseCatalogResult {
  const r = catalogSchema.safeParse(json);
  if (r.success) return { ok: true, catalog: r.data };
  return {
    ok: false,
    errors: fieldErrorsOf(r.error.issues),
  };
}

export function findOffer(catalog: Catalog, offerId: string): Offer | undefined {
  return catalog.offers.find((o) => o.id === offerId);
}

/** Where the demo catalog lives (a news publisher in GBP/USD/JPY); loaded into the store by its seed. */
export const demoCatalogUrl: URL = new URL("../catalog/demo-catalog.json", import.meta.url);

/** The offer's billing currency (all charges share it, see offerSchema). */
export const offerCurrency = (offer: Offer): string => offer.charges[0]!.currencyCode;
