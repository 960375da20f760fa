import { isFutureDate } from "../rules/new-order-plan.ts";
import { type SupportedOrderType, supportedOrderTypes } from "./schemas.ts";

/**
 * What every field of a Limio order means in Stripe: ONE table, read by the parser (a field it
 * does not list, or lists as refused, fails the parse with `unsupported_field` and its path) and
 * by the docs (docs/limio-order-fields.md is checked against it). See docs/decisions/015.
 *
 * - applied: the writer maps it to the Stripe field named in `stripe`;
 * - kept: it does not touch Stripe (tracking, marketing preferences, Limio's own references)
 *   and is kept on the order record;
 * - refused: the order fails with `unsupported_field` naming the path, unless the value asks
 *   for nothing (`neutral`: `isGift: false`, an `orderDate` that is not ahead…).
 *
 * Fields with a `feature` have their pure mapping rule in rules/ already, but the writer does
 * not execute it yet: they are refused until WRITER_FEATURES turns the feature on.
 */

export type Disposition = "applied" | "kept" | "refused";

export const writerFeatureNames = [
  "discounts",
  "add_ons",
  "multiple_items",
  "fixed_term",
  "future_start",
  "effective_date",
] as const;
export type Feature = (typeof writerFeatureNames)[number];
export type FeatureSet = Readonly<Record<Feature, boolean>>;
export const FEATURE_LABELS: Record<Feature, string> = {
  discounts: "discounts",
  add_ons: "add-ons",
  multiple_items: "several order items",
  fixed_term: "fixed terms",
  future_start: "future starts",
  effective_date: "effective dates",
};

/** The one switch per feature: set to true when the writer executes the feature's rule. */
export const WRITER_FEATURES: FeatureSet = {
  discounts: false, // rules/discounts.ts, via rules/new-order-plan.ts
  add_ons: false, // rules/new-order-plan.ts
  multiple_items: false, // rules/new-order-plan.ts
  fixed_term: false, // rules/new-order-plan.ts (cancel_at)
  future_start: false, // rules/new-order-plan.ts (trial_end)
  effective_date: false, // rules/switch-plan.ts (switchTiming)
};
export const ALL_FEATURES: FeatureSet = Object.fromEntries(
  writerFeatureNames.map((f) => [f, true]),
) as Record<Feature, boolean>;

export type NeutralContext = { now: Date; path: readonly (string | number)[] };

export type FieldRule = {
  /** Dotted path; `*` matches any one key or array index. */
  path: string;
  types: readonly SupportedOrderType[];
  disposition: Disposition;
  /** The Stripe field it becomes (applied), else "—". */
  stripe: string;
  note: string;
  /** Refused until the writer implements this feature (then `disposition` holds). */
  feature?: Feature;
  /** Values that ask for nothing (`when` says which, for the docs): accepted even while refused. */
  neutral?: { when: string; test: (value: unknown, ctx: NeutralContext) => boolean };
  /** Applied fields: only these values can be honoured; others are refused. */
  only?: { values: readonly unknown[]; why: string };
  /** Kept as a whole: what is below it is not inspected (a snapshot, UI state). */
  subtree?: true;
};

const ALL = supportedOrderTypes;
const NEW = ["new"] as const;
const CANCEL = ["cancel_subscription"] as const;
const ADDRESS = ["change_address"] as const;
const PAYMENT = ["change_payment"] as const;
const SWITCH = ["change_offer"] as const;
const TARGETED = ["cancel_subscription", "change_address", "change_payment", "change_offer"] as const;

const notFuture = {
  when: "today or earlier",
  test: (v: unknown, c: NeutralContext) => typeof v !== "string" || !isFutureDate(v, c.now),
};
const isFalse = { when: "false", test: (v: unknown) => v === false };
const isTrue = { when: "true", test: (v: unknown) => v === true };
const emptyList = { when: "empty", test: (v: unknown) => v === null || (Array.isArray(v) && v.length === 0) };
const emptyObject = {
  when: "empty",
  test: (v: unknown) => v === null || (typeof v === "object" && Object.keys(v as object).length === 0),
};

/** Limio's Address fields (billingDetails, deliveryDetails, change_address `address`). */
function addressRules(
  prefix: string,
  types: readonly SupportedOrderType[],
  target: "address" | "shipping" | "kept",
  note: string,
): FieldRule[] {
  const applied = target !== "kept";
  const field = (name: string, stripe: string): FieldRule => ({
    path: `${prefix}.${name}`,
    types,
    disposition: applied ? "applied" : "kept",
    stripe: applied ? stripe : "—",
    note,
  });
  const line = (f: string) =>
    target === "shipping" ? `customer.shipping.address.${f}` : `customer.address.${f}`;
  return [
    {
      path: prefix,
      types,
      disposition: applied ? "applied" : "kept",
      stripe: applied ? `customer.${target}` : "—",
      note,
    },
    field("firstName", target === "shipping" ? "customer.shipping.name" : "customer.name"),
    field("lastName", target === "shipping" ? "customer.shipping.name" : "customer.name"),
    field("email", "customer.email"),
    field("phone", target === "shipping" ? "customer.shipping.phone" : "customer.phone"),
    field("address1", line("line1")),
    field("address2", line("line2")),
    field("city", line("city")),
    field("state", line("state")),
    field("postalCode", line("postal_code")),
    field("country", line("country")),
    {
      path: `${prefix}.*`,
      types,
      disposition: "kept",
      stripe: "—",
      note: "other contact fields (workEmail, workPhone, otherPhone, company, streetName, buildingNumber…)",
    },
  ];
}

export const ORDER_FIELD_RULES: readonly FieldRule[] = [
  // Every order type.
  {
    path: "order_type",
    types: ALL,
    disposition: "applied",
    stripe: "the action (see DESIGN §2)",
    note: "gifts and other types are refused before any field",
  },
  {
    path: "id",
    types: ALL,
    disposition: "applied",
    stripe: "metadata.limio_order_id",
    note: "minted by the gateway when absent",
  },
  {
    path: "order_reference",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "Limio's 12-character order reference",
  },
  {
    path: "external_id",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "the caller's reference; with source, the idempotency identity",
  },
  {
    path: "source",
    types: ALL,
    disposition: "applied",
    stripe: "metadata.limio_source",
    note: "shop, salesforce…",
  },
  {
    path: "initiated_source",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "where the order originated",
  },
  {
    path: "process_immediately",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "how the gateway answers, not what Stripe does",
  },
  { path: "mode", types: ALL, disposition: "kept", stripe: "—", note: "Limio's test/production flag" },
  {
    path: "__spec_version",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "Limio's order format version",
  },
  { path: "owner", types: ALL, disposition: "kept", stripe: "—", note: "Limio identity id-…" },
  { path: "customerId", types: ALL, disposition: "kept", stripe: "—", note: "Limio customer cus-…" },
  {
    path: "sub_reference",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "Limio's 12-character subscription reference",
  },
  { path: "orderDate", types: TARGETED, disposition: "kept", stripe: "—", note: "when the customer asked" },
  // Added by parseLimioOrder itself, so a parsed order parses again unchanged.
  {
    path: "email",
    types: NEW,
    disposition: "applied",
    stripe: "customer.email (the match key)",
    note: "derived: customerDetails.email, else billingDetails.email",
  },
  {
    path: "stripePayment",
    types: ["new", "change_payment"],
    disposition: "applied",
    stripe: "default_payment_method / invoices.attachPayment",
    note: "derived: the pm_/pi_ ids found under payment",
    subtree: true,
  },
  {
    path: "customFields",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "tenant fields for CRMs",
    subtree: true,
  },
  {
    path: "tracking",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "campaign, tag, offers, lmo_offer, referrer",
    subtree: true,
  },

  // The subscription an order acts on.
  {
    path: "subscriptionId",
    types: ALL,
    disposition: "applied",
    stripe: "metadata.limio_subscription_id; the linked Stripe subscription",
    note: "or forSubscription.id; both must agree; minted by the gateway for a new order",
  },
  { path: "forSubscription", types: ALL, disposition: "applied", stripe: "as subscriptionId", note: "" },
  { path: "forSubscription.id", types: ALL, disposition: "applied", stripe: "as subscriptionId", note: "" },
  {
    path: "forSubscription.*",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "the rest of Limio's subscription snapshot",
    subtree: true,
  },
  {
    path: "subscriptionRef",
    types: TARGETED,
    disposition: "kept",
    stripe: "—",
    note: "Limio's subscription reference",
  },
  {
    path: "subscriptionReference",
    types: ALL,
    disposition: "kept",
    stripe: "—",
    note: "Limio's subscription reference",
  },

  // new
  { path: "checkoutId", types: NEW, disposition: "kept", stripe: "—", note: "Limio basket id" },
  { path: "country", types: NEW, disposition: "kept", stripe: "—", note: "purchase country (validated)" },
  {
    path: "orderDate",
    types: NEW,
    disposition: "applied",
    stripe: "subscription trial_end (billing starts then)",
    note: "today or earlier: billing starts now; ahead: nothing charged until then",
    feature: "future_start",
    neutral: notFuture,
  },
  { path: "orderItems", types: NEW, disposition: "applied", stripe: "subscription items[]", note: "" },
  {
    path: "orderItems.0",
    types: NEW,
    disposition: "applied",
    stripe: "subscription items[] (the subscription's offer)",
    note: "",
  },
  {
    path: "orderItems.*",
    types: NEW,
    disposition: "applied",
    stripe: "more subscription items[], co-termed",
    note: "second and later items (orderItems.1…): same currency and billing interval as the first",
    feature: "multiple_items",
  },
  { path: "orderItems.*.offer", types: NEW, disposition: "applied", stripe: "the catalog offer", note: "" },
  {
    path: "orderItems.*.offer.id",
    types: NEW,
    disposition: "applied",
    stripe: "items[].price (one Price per recurring charge); add_invoice_items[] (one-off charges)",
    note: "prices come from the published catalog, never from the order",
  },
  {
    path: "orderItems.*.offer.version",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "Price metadata limio_offer_version comes from the catalog",
  },
  {
    path: "orderItems.*.offer.*",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "Limio's offer snapshot (path, name, data.attributes…): the catalog is what is billed",
    subtree: true,
  },
  {
    path: "orderItems.*.quantity",
    types: NEW,
    disposition: "applied",
    stripe: "items[].quantity, add_invoice_items[].quantity",
    note: "a whole number, bounded",
  },
  {
    path: "orderItems.*.addOns",
    types: NEW,
    disposition: "applied",
    stripe: "more subscription items[] (co-termed), one-off charges on the first invoice",
    note: "",
    feature: "add_ons",
    neutral: emptyList,
  },
  {
    path: "orderItems.*.addOns.*",
    types: NEW,
    disposition: "applied",
    stripe: "subscription items[]",
    note: "",
    feature: "add_ons",
  },
  {
    path: "orderItems.*.addOns.*.addOn",
    types: NEW,
    disposition: "applied",
    stripe: "the catalog add-on",
    note: "",
    feature: "add_ons",
  },
  {
    path: "orderItems.*.addOns.*.addOn.id",
    types: NEW,
    disposition: "applied",
    stripe: "items[].price",
    note: "an offer of the catalog",
    feature: "add_ons",
  },
  {
    path: "orderItems.*.addOns.*.addOn.*",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "Limio's add-on snapshot",
    subtree: true,
  },
  {
    path: "orderItems.*.addOns.*.offer",
    types: NEW,
    disposition: "applied",
    stripe: "the catalog add-on",
    note: "same as addOn",
    feature: "add_ons",
  },
  {
    path: "orderItems.*.addOns.*.offer.id",
    types: NEW,
    disposition: "applied",
    stripe: "items[].price",
    note: "same as addOn.id",
    feature: "add_ons",
  },
  {
    path: "orderItems.*.addOns.*.offer.*",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "Limio's add-on snapshot",
    subtree: true,
  },
  {
    path: "orderItems.*.addOns.*.quantity",
    types: NEW,
    disposition: "applied",
    stripe: "items[].quantity",
    note: "bounded",
    feature: "add_ons",
  },
  { path: "orderItems.*.id", types: NEW, disposition: "kept", stripe: "—", note: "Limio order line id" },
  { path: "orderItems.*.name", types: NEW, disposition: "kept", stripe: "—", note: "display name" },
  { path: "orderItems.*.details", types: NEW, disposition: "kept", stripe: "—", note: "display text" },
  {
    path: "orderItems.*.price",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "the price the shop displayed; Stripe bills the catalog's",
    subtree: true,
  },
  {
    path: "orderItems.*.products",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "product snapshot",
    subtree: true,
  },
  {
    path: "orderDiscount",
    types: NEW,
    disposition: "applied",
    stripe: "coupon + subscription discounts[]",
    note: "one coupon per distinct definition (id limio-<hash>)",
    feature: "discounts",
    neutral: emptyObject,
  },
  {
    path: "orderDiscount.name",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.name",
    note: "first 40 characters",
    feature: "discounts",
  },
  {
    path: "orderDiscount.productDetails",
    types: NEW,
    disposition: "refused",
    stripe: "—",
    note: "restricting a discount to products is not mapped (coupon applies_to)",
    neutral: emptyList,
  },
  {
    path: "orderDiscount.discountOverrides",
    types: NEW,
    disposition: "applied",
    stripe: "coupon",
    note: "",
    feature: "discounts",
  },
  {
    path: "orderDiscount.discountOverrides.discountType",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.percent_off or coupon.amount_off",
    note: "percentage | amount",
    feature: "discounts",
  },
  {
    path: "orderDiscount.discountOverrides.percentageDiscount",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.percent_off",
    note: "0 < p ≤ 100, two decimals",
    feature: "discounts",
  },
  {
    path: "orderDiscount.discountOverrides.amountDiscount",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.amount_off",
    note: "decimal, in currency",
    feature: "discounts",
  },
  {
    path: "orderDiscount.discountOverrides.currency",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.currency",
    note: "required with an amount; must be the offer's",
    feature: "discounts",
  },
  {
    path: "orderDiscount.discountOverrides.durationType",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.duration",
    note: "once | forever | billing_periods | months | years",
    feature: "discounts",
  },
  {
    path: "orderDiscount.discountOverrides.durationLength",
    types: NEW,
    disposition: "applied",
    stripe: "coupon.duration_in_months",
    note: "N periods × the interval in months",
    feature: "discounts",
  },
  {
    path: "autoRenew",
    types: NEW,
    disposition: "applied",
    stripe: "subscription cancel_at (the term end)",
    note: "false: a fixed term; true or absent: the offer's autoRenew",
    feature: "fixed_term",
    neutral: isTrue,
  },
  {
    path: "isGift",
    types: NEW,
    disposition: "refused",
    stripe: "—",
    note: "gifts are not supported",
    neutral: isFalse,
  },
  {
    path: "isRedeem",
    types: NEW,
    disposition: "refused",
    stripe: "—",
    note: "gift redemption is not supported",
    neutral: isFalse,
  },
  {
    path: "isTrial",
    types: NEW,
    disposition: "applied",
    stripe: "subscription trial_end (checked: the offer must have a delayed charge)",
    note: "",
    feature: "future_start",
    neutral: isFalse,
  },
  {
    path: "total",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "what the shop showed; the writer's plan (planNewOrder) refuses the order when Stripe would bill another amount today",
    subtree: true,
  },
  ...addressRules("billingDetails", NEW, "address", "the customer's billing details"),
  ...addressRules("deliveryDetails", NEW, "shipping", "the customer's delivery details"),
  { path: "customerDetails", types: NEW, disposition: "applied", stripe: "customer", note: "" },
  {
    path: "customerDetails.firstName",
    types: NEW,
    disposition: "applied",
    stripe: "customer.name",
    note: "",
  },
  { path: "customerDetails.lastName", types: NEW, disposition: "applied", stripe: "customer.name", note: "" },
  {
    path: "customerDetails.email",
    types: NEW,
    disposition: "applied",
    stripe: "customer.email (the match key)",
    note: "else billingDetails.email",
  },
  { path: "customerDetails.phone", types: NEW, disposition: "applied", stripe: "customer.phone", note: "" },
  {
    path: "customerDetails.marketingPrefs",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "marketing preferences",
    subtree: true,
  },
  {
    path: "customerDetails.*",
    types: NEW,
    disposition: "kept",
    stripe: "—",
    note: "companyName and other form fields",
  },
  { path: "payment", types: NEW, disposition: "applied", stripe: "the first invoice's payment", note: "" },
  {
    path: "payment.type",
    types: ["new", "change_payment"],
    disposition: "applied",
    stripe: "Stripe payments",
    note: "",
    only: { values: ["stripe"], why: "this bridge collects payments through Stripe only" },
  },
  {
    path: "payment.stripe",
    types: ["new", "change_payment"],
    disposition: "applied",
    stripe: "default_payment_method / invoices.attachPayment",
    note: "pm_… and pi_… ids, also under stripe.result",
    subtree: true,
  },
  {
    path: "payment.paymentMethodId",
    types: ["new", "change_payment"],
    disposition: "applied",
    stripe: "default_payment_method",
    note: "",
  },
  {
    path: "payment.paymentIntentId",
    types: ["new", "change_payment"],
    disposition: "applied",
    stripe: "invoices.attachPayment",
    note: "",
  },
  {
    path: "payment.timing",
    types: ["new", "change_payment"],
    disposition: "kept",
    stripe: "—",
    note: "shop telemetry",
    subtree: true,
  },
  {
    path: "payment.*",
    types: ["new", "change_payment"],
    disposition: "refused",
    stripe: "—",
    note: "other payment providers (zuora, paypal, direct_debit details, gift_code)",
  },
  // The shop's UI state, sent along with real shop orders (Limio's own front-end code).
  ...(
    [
      ["userDetails", "the shopper's login claims"],
      ["recipientDetails", "gift recipient form (gifts are refused by isGift)"],
      ["studentDetails", "student form"],
      ["allowedCountries", "checkout configuration"],
      ["paymentType", "the shop's payment form (payment.type decides)"],
      ["redirectUrl", "shop navigation"],
      ["redirectState", "shop navigation"],
      ["recaptchaPayload", "bot check"],
      ["orderState", "shop state"],
      ["student", "student flag"],
      ["hasDelivery", "whether the shop asked for delivery"],
      ["chooseDate", "whether the shop offered a start date (orderDate decides)"],
      ["requestCompany", "form option"],
      ["variant", "checkout variant"],
      ["subRef", "Limio subscription reference (renewals)"],
      ["subId", "Limio subscription id (renewals)"],
    ] as const
  ).map(
    ([path, note]): FieldRule => ({
      path,
      types: NEW,
      disposition: "kept",
      stripe: "—",
      note,
      subtree: true,
    }),
  ),

  // cancel_subscription
  {
    path: "cancelDate",
    types: CANCEL,
    disposition: "applied",
    stripe: "cancel_at_period_end, or cancel_at when after the period end",
    note: "never ends a paid period early",
  },
  {
    path: "effectiveDate",
    types: CANCEL,
    disposition: "applied",
    stripe: "as cancelDate",
    note: "must agree with cancelDate",
    feature: "effective_date",
    neutral: notFuture,
  },
  { path: "reason", types: CANCEL, disposition: "kept", stripe: "—", note: "cancel survey", subtree: true },
  {
    path: "data",
    types: CANCEL,
    disposition: "kept",
    stripe: "—",
    note: "data.reason: cancel survey",
    subtree: true,
  },

  // change_address
  {
    path: "type",
    types: ADDRESS,
    disposition: "applied",
    stripe: "billing → customer.address; delivery → customer.shipping; all → both",
    note: "absent: the writer's configured type",
  },
  ...addressRules("address", ADDRESS, "address", "the new address (customer.shipping for type delivery)"),
  ...addressRules("billingDetails", ADDRESS, "address", "used when `address` is absent"),
  ...addressRules("deliveryDetails", ADDRESS, "shipping", "shipping for type all/delivery"),
  {
    path: "customerDetails",
    types: ADDRESS,
    disposition: "applied",
    stripe: "customer.name",
    note: "name when the address has none",
  },
  { path: "customerDetails.*", types: ADDRESS, disposition: "kept", stripe: "—", note: "" },

  // change_payment
  {
    path: "payment",
    types: PAYMENT,
    disposition: "applied",
    stripe: "SetupIntent / default_payment_method",
    note: "",
  },
  ...addressRules(
    "billingDetails",
    PAYMENT,
    "kept",
    "Limio's Stripe plugin leaves addresses to change_address",
  ),

  // change_offer
  {
    path: "offer",
    types: SWITCH,
    disposition: "applied",
    stripe: "the new Prices",
    note: "or orderItems.0.offer",
  },
  {
    path: "offer.id",
    types: SWITCH,
    disposition: "applied",
    stripe: "items[].price now, or a subscription schedule phase",
    note: "direction and timing: rules/switch-plan.ts",
  },
  { path: "offer.version", types: SWITCH, disposition: "kept", stripe: "—", note: "" },
  {
    path: "offer.*",
    types: SWITCH,
    disposition: "kept",
    stripe: "—",
    note: "Limio's offer snapshot",
    subtree: true,
  },
  { path: "orderItems", types: SWITCH, disposition: "applied", stripe: "the new Prices", note: "" },
  { path: "orderItems.0", types: SWITCH, disposition: "applied", stripe: "the new Prices", note: "" },
  {
    path: "orderItems.*",
    types: SWITCH,
    disposition: "refused",
    stripe: "—",
    note: "a switch is to exactly one offer",
  },
  { path: "orderItems.*.offer", types: SWITCH, disposition: "applied", stripe: "the new Prices", note: "" },
  {
    path: "orderItems.*.offer.id",
    types: SWITCH,
    disposition: "applied",
    stripe: "items[].price now, or a subscription schedule phase",
    note: "",
  },
  {
    path: "orderItems.*.offer.*",
    types: SWITCH,
    disposition: "kept",
    stripe: "—",
    note: "Limio's offer snapshot",
    subtree: true,
  },
  {
    path: "orderItems.*.quantity",
    types: SWITCH,
    disposition: "refused",
    stripe: "—",
    note: "a switch keeps the subscription's quantities",
  },
  {
    path: "orderItems.*.*",
    types: SWITCH,
    disposition: "kept",
    stripe: "—",
    note: "line display fields",
    subtree: true,
  },
  {
    path: "effectiveDate",
    types: SWITCH,
    disposition: "applied",
    stripe: "now (today or earlier), or a schedule phase at that date",
    note: "else the offer's switch_date__limio, else the direction",
    feature: "effective_date",
    neutral: notFuture,
  },
  {
    path: "change_type",
    types: SWITCH,
    disposition: "applied",
    stripe: "—",
    note: "",
    only: { values: ["change_offer"], why: "add_charge and other change types are not supported" },
  },
];

export type UnsupportedField = { path: string; message: string };

function matches(pattern: readonly string[], path: readonly (string | number)[]): boolean {
  return pattern.length === path.length && pattern.every((p, i) => p === "*" || p === String(path[i]));
}
/** A literal segment beats `*` at the first position where two patterns differ. */
function bySpecificity(a: readonly string[], b: readonly string[]): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const wa = a[i] === "*";
    const wb = b[i] === "*";
    if (wa !== wb) return wa ? 1 : -1;
  }
  return 0;
}

const RULES_BY_TYPE = new Map(
  supportedOrderTypes.map((type) => [
    type,
    ORDER_FIELD_RULES.filter((r) => r.types.includes(type))
      .map((r) => ({ rule: r, pattern: r.path.split(".") }))
      .sort((a, b) => bySpecificity(a.pattern, b.pattern)),
  ]),
);

/** The rule for a concrete path (most specific match), or undefined for an unknown field. */
export function ruleFor(type: SupportedOrderType, path: readonly (string | number)[]): FieldRule | undefined {
  for (const { rule, pattern } of RULES_BY_TYPE.get(type)!) {
    if (matches(pattern, path)) return rule;
  }
  return undefined;
}

export const dispositionOf = (rule: FieldRule, featureSet: FeatureSet = WRITER_FEATURES): Disposition =>
  rule.feature && !featureSet[rule.feature] ? "refused" : rule.disposition;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Every field of `order` checked against the table: unknown fields and refused values are
 * returned with their path; an empty list means every field is applied or kept.
 */
export function checkOrderFields(
  type: SupportedOrderType,
  order: Record<string, unknown>,
  options: { now: Date; features?: FeatureSet },
): UnsupportedField[] {
  const featureSet = options.features ?? WRITER_FEATURES;
  const refusals: UnsupportedField[] = [];
  const visit = (value: unknown, path: (string | number)[]) => {
    if (value === undefined) return;
    const where = path.join(".");
    const rule = ruleFor(type, path);
    if (!rule) {
      refusals.push({
        path: where,
        message: `unknown field for ${type} orders: not applied in Stripe, so refused`,
      });
      return;
    }
    const neutral = rule.neutral?.test(value, { now: options.now, path }) ?? false;
    if (dispositionOf(rule, featureSet) === "refused" && !neutral) {
      refusals.push({
        path: where,
        message: rule.feature
          ? `not supported yet (${FEATURE_LABELS[rule.feature]})${rule.neutral ? ` unless ${rule.neutral.when}` : ""}: ${rule.note || rule.stripe}`
          : `not supported${rule.neutral ? ` unless ${rule.neutral.when}` : ""}: ${rule.note}`,
      });
      return;
    }
    if (rule.only && !rule.only.values.includes(value)) {
      refusals.push({
        path: where,
        message: `${JSON.stringify(value)} is not supported (${rule.only.values.join(", ")}): ${rule.only.why}`,
      });
      return;
    }
    if (rule.subtree) return;
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, [...path, i]);
    } else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
  };
  for (const [k, v] of Object.entries(order)) visit(v, [k]);
  return refusals;
}

export type FieldTableRow = { field: string; happens: string; stripe: string; note: string };

/** What docs/limio-order-fields.md lists for one order type, in table order. */
export function fieldTableRows(type: SupportedOrderType): FieldTableRow[] {
  return ORDER_FIELD_RULES.filter((r) => r.types.includes(type)).map((r) => {
    const disposition = dispositionOf(r);
    const unless = r.neutral && disposition === "refused" ? ` unless ${r.neutral.when}` : "";
    const until =
      r.feature && disposition === "refused" ? ` (until the writer does ${FEATURE_LABELS[r.feature]})` : "";
    const happens = `${disposition}${unless}${until}`;
    const notes = [
      r.note,
      r.only ? `only ${r.only.values.map((v) => JSON.stringify(v)).join(", ")}: ${r.only.why}` : "",
      r.subtree ? "everything below it too" : "",
    ].filter((n) => n !== "");
    return { field: r.path, happens, stripe: r.stripe, note: notes.join("; ") };
  });
}
