import { isFutureDate, type NewOrderPlan } from "../rules/new-order-plan.ts";
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
  discounts: true, // rules/discounts.ts, via rules/new-order-plan.ts, executed by apps/stripe-writer (coupons)
  add_ons: true, // rules/new-order-plan.ts, executed by apps/stripe-writer (new-order.ts)
  multiple_items: true, // rules/new-order-plan.ts, executed by apps/stripe-writer (new-order.ts)
  fixed_term: true, // rules/new-order-plan.ts (cancel_at), executed by apps/stripe-writer
  future_start: true, // rules/new-order-plan.ts (trial_end), executed by apps/stripe-writer
  effective_date: true, // rules/switch-plan.ts (switchTiming), rules/cancel.ts (cancelTiming), executed by apps/stripe-writer
};
export const ALL_FEATURES: FeatureSet = Object.fromEntries(
  writerFeatureNames.map((f) => [f, true]),
) as Record<Feature, boolean>;

const notYet = (feature: Feature) => `${FEATURE_LABELS[feature]} are not applied in Stripe yet`;

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
const PAYS = ["new", "change_payment"] as const;

const notFuture = {
  when: "today or earlier",
  test: (v: unknown, c: NeutralContext) => typeof v !== "string" || !isFutureDate(v, c.now),
};
const isFalse = { when: "false", test: (v: unknown) => v === false };
const isTrue = { when: "true", test: (v: unknown) => v === true };
const isNull = { when: "null", test: (v: unknown) => v === null };
const PAYMENT_INTENT_REFUSED =
  "a PaymentIntent is not applied by change_payment (what it charged is not an invoice the bridge can place): send the new PaymentMethod (paymentMethodId, a Stripe.js { paymentMethod } or a confirmed { setupIntent }), or none to get a SetupIntent; an open invoice is then paid with it";
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
  const isApplied = target !== "kept";
  const field = (name: string, stripe: string): FieldRule => ({
    path: `${prefix}.${name}`,
    types,
    disposition: isApplied ? "applied" : "kept",
    stripe: isApplied ? stripe : "—",
    note,
  });
  const line = (f: string) =>
    target === "shipping" ? `customer.shipping.address.${f}` : `customer.address.${f}`;
  return [
    {
      path: prefix,
      types,
      disposition: isApplied ? "applied" : "kept",
      stripe: isApplied ? `customer.${target}` : "—",
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

type RuleOptions = Pick<FieldRule, "feature" | "neutral" | "only" | "subtree">;
const applied = (
  path: string,
  types: readonly SupportedOrderType[],
  stripe: string,
  note: string,
  options: RuleOptions = {},
): FieldRule => ({ path, types, disposition: "applied", stripe, note, ...options });
const kept = (path: string, types: readonly SupportedOrderType[], note: string, options: RuleOptions = {}) =>
  ({ path, types, disposition: "kept", stripe: "—", note, ...options }) satisfies FieldRule;
const refused = (
  path: string,
  types: readonly SupportedOrderType[],
  note: string,
  options: RuleOptions = {},
) => ({ path, types, disposition: "refused", stripe: "—", note, ...options }) satisfies FieldRule;
const SUBTREE = { subtree: true } as const;

/** The shop's UI state: kept as a whole. */
const SHOP_UI_STATE = [
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
] as const;

export const ORDER_FIELD_RULES: readonly FieldRule[] = [
  // Every order type.
  applied(
    "order_type",
    ALL,
    "the action (see DESIGN §2)",
    "gifts and other types are refused before any field",
  ),
  applied(
    "id",
    ALL,
    "metadata.limio_order_id",
    "Limio's order id order-<32 hex>, used as given (then it is the idempotency identity); minted by the gateway when absent",
  ),
  kept(
    "order_reference",
    ALL,
    "Limio's 12-character order reference [A-Z0-9], used as given; minted by the gateway when absent",
  ),
  kept("external_id", ALL, "the caller's reference; with source, the idempotency identity"),
  applied("source", ALL, "metadata.limio_source", "shop, salesforce…"),
  kept("initiated_source", ALL, "where the order originated"),
  kept("process_immediately", ALL, "how the gateway answers, not what Stripe does"),
  kept("mode", ALL, "Limio's test/production flag"),
  kept("__spec_version", ALL, "Limio's order format version"),
  kept("owner", ALL, "Limio identity id-<32 hex>, returned in the gateway's answers"),
  kept("customerId", ALL, "Limio customer cus-…"),
  kept(
    "sub_reference",
    ALL,
    "Limio's 12-character subscription reference [A-Z0-9]: a new order's subscription gets it (minted when absent); on other orders it must be the subscription's",
  ),
  kept("orderDate", TARGETED, "when the customer asked"),
  // Added by parseLimioOrder itself, so a parsed order parses again unchanged.
  applied(
    "email",
    NEW,
    "customer.email (the match key)",
    "derived: customerDetails.email, else billingDetails.email",
  ),
  applied(
    "stripePayment",
    NEW,
    "default_payment_method / invoices.attachPayment",
    "derived: the pm_/pi_ ids found under payment",
    SUBTREE,
  ),
  applied(
    "stripePayment",
    PAYMENT,
    "default_payment_method",
    "derived: the pm_ id found under payment",
    SUBTREE,
  ),
  kept("customFields", ALL, "tenant fields for CRMs", SUBTREE),
  kept("tracking", ALL, "campaign, tag, offers, lmo_offer, referrer", SUBTREE),
  applied(
    "subscriptionId",
    ALL,
    "metadata.limio_subscription_id; the linked Stripe subscription",
    "or forSubscription.id; both must agree; minted by the gateway for a new order",
  ),
  applied("forSubscription", ALL, "as subscriptionId", ""),
  applied("forSubscription.id", ALL, "as subscriptionId", ""),
  kept("forSubscription.*", ALL, "the rest of Limio's subscription snapshot", SUBTREE),
  kept("subscriptionRef", TARGETED, "Limio's subscription reference"),
  kept("subscriptionReference", ALL, "Limio's subscription reference"),
  // new
  kept("checkoutId", NEW, "Limio basket id"),
  kept("country", NEW, "purchase country (validated)"),
  applied(
    "orderDate",
    NEW,
    "subscription trial_end (billing starts then)",
    "today or earlier: billing starts now; ahead: nothing charged until then",
    { feature: "future_start", neutral: notFuture },
  ),
  applied("orderItems", NEW, "subscription items[]", ""),
  applied("orderItems.0", NEW, "subscription items[] (the subscription's offer)", ""),
  applied(
    "orderItems.*",
    NEW,
    "more subscription items[], co-termed",
    "second and later items (orderItems.1…): same currency and billing interval as the first",
    { feature: "multiple_items" },
  ),
  applied("orderItems.*.offer", NEW, "the catalog offer", ""),
  applied(
    "orderItems.*.offer.id",
    NEW,
    "items[].price (one Price per recurring charge); add_invoice_items[] (one-off charges)",
    "prices come from the published catalog, never from the order",
  ),
  applied(
    "orderItems.*.offer.version",
    NEW,
    "the catalog version priced (Price metadata limio_offer_version); the subscription keeps it",
    "must name a loaded version (400 otherwise); absent: the offer's current version",
  ),
  kept(
    "orderItems.*.offer.*",
    NEW,
    "Limio's offer snapshot (path, name, data.attributes…): the catalog is what is billed",
    SUBTREE,
  ),
  applied(
    "orderItems.*.quantity",
    NEW,
    "items[].quantity, add_invoice_items[].quantity",
    "a whole number, bounded",
  ),
  applied(
    "orderItems.*.addOns",
    NEW,
    "more subscription items[] (co-termed), one-off charges on the first invoice",
    "",
    { feature: "add_ons", neutral: emptyList },
  ),
  applied("orderItems.*.addOns.*", NEW, "subscription items[]", "", { feature: "add_ons" }),
  applied("orderItems.*.addOns.*.addOn", NEW, "the catalog add-on", "", { feature: "add_ons" }),
  applied("orderItems.*.addOns.*.addOn.id", NEW, "items[].price", "an offer of the catalog", {
    feature: "add_ons",
  }),
  kept("orderItems.*.addOns.*.addOn.*", NEW, "Limio's add-on snapshot", SUBTREE),
  applied("orderItems.*.addOns.*.offer", NEW, "the catalog add-on", "same as addOn", { feature: "add_ons" }),
  applied("orderItems.*.addOns.*.offer.id", NEW, "items[].price", "same as addOn.id", { feature: "add_ons" }),
  kept("orderItems.*.addOns.*.offer.*", NEW, "Limio's add-on snapshot", SUBTREE),
  applied("orderItems.*.addOns.*.quantity", NEW, "items[].quantity", "bounded", { feature: "add_ons" }),
  kept("orderItems.*.id", NEW, "Limio order line id"),
  kept("orderItems.*.name", NEW, "display name"),
  kept("orderItems.*.details", NEW, "display text"),
  kept("orderItems.*.price", NEW, "the price the shop displayed; Stripe bills the catalog's", SUBTREE),
  kept("orderItems.*.products", NEW, "product snapshot", SUBTREE),
  applied(
    "orderDiscount",
    NEW,
    "coupon + subscription discounts[]",
    "one coupon per distinct definition (id limio-<hash>)",
    { feature: "discounts", neutral: emptyObject },
  ),
  applied("orderDiscount.name", NEW, "coupon.name", "first 40 characters", { feature: "discounts" }),
  refused(
    "orderDiscount.productDetails",
    NEW,
    "restricting a discount to products is not mapped (coupon applies_to)",
    { neutral: emptyList },
  ),
  applied("orderDiscount.discountOverrides", NEW, "coupon", "", { feature: "discounts" }),
  applied(
    "orderDiscount.discountOverrides.discountType",
    NEW,
    "coupon.percent_off or coupon.amount_off",
    "percentage | amount",
    { feature: "discounts" },
  ),
  applied(
    "orderDiscount.discountOverrides.percentageDiscount",
    NEW,
    "coupon.percent_off",
    "0 < p ≤ 100, two decimals",
    { feature: "discounts" },
  ),
  applied(
    "orderDiscount.discountOverrides.amountDiscount",
    NEW,
    "coupon.amount_off",
    "decimal, in currency",
    { feature: "discounts" },
  ),
  applied(
    "orderDiscount.discountOverrides.currency",
    NEW,
    "coupon.currency",
    "required with an amount; must be the offer's",
    { feature: "discounts" },
  ),
  applied(
    "orderDiscount.discountOverrides.durationType",
    NEW,
    "coupon.duration",
    "once | forever | billing_periods | months | years",
    { feature: "discounts" },
  ),
  applied(
    "orderDiscount.discountOverrides.durationLength",
    NEW,
    "coupon.duration_in_months",
    "N periods × the interval in months",
    { feature: "discounts" },
  ),
  applied(
    "autoRenew",
    NEW,
    "subscription cancel_at (the term end)",
    "false: a fixed term; true or absent: the offer's autoRenew (true never makes a fixed-term offer renew: the catalog's term is billed)",
    { feature: "fixed_term", neutral: isTrue },
  ),
  refused("isGift", NEW, "gifts are not supported", { neutral: isFalse }),
  refused("isRedeem", NEW, "gift redemption is not supported", { neutral: isFalse }),
  applied("isTrial", NEW, "subscription trial_end (checked: the offer must have a delayed charge)", "", {
    feature: "future_start",
    neutral: isFalse,
  }),
  applied(
    "total",
    NEW,
    "checked: the first invoice's amount_due",
    "what the shop showed: the order is refused naming total when Stripe would bill another amount today (planNewOrder), and fails if Stripe's first invoice differs",
    SUBTREE,
  ),
  ...addressRules("billingDetails", NEW, "address", "the customer's billing details"),
  ...addressRules("deliveryDetails", NEW, "shipping", "the customer's delivery details"),
  applied("customerDetails", NEW, "customer", ""),
  applied("customerDetails.firstName", NEW, "customer.name", ""),
  applied("customerDetails.lastName", NEW, "customer.name", ""),
  applied("customerDetails.email", NEW, "customer.email (the match key)", "else billingDetails.email"),
  applied("customerDetails.phone", NEW, "customer.phone", ""),
  kept("customerDetails.marketingPrefs", NEW, "marketing preferences", SUBTREE),
  kept("customerDetails.*", NEW, "companyName and other form fields"),
  applied("payment", NEW, "the first invoice's payment", ""),
  applied("payment.type", PAYS, "Stripe payments", "", {
    only: { values: ["stripe"], why: "this bridge collects payments through Stripe only" },
  }),
  applied(
    "payment.stripe",
    NEW,
    "default_payment_method / invoices.attachPayment",
    "pm_… and pi_… ids, or Stripe.js results under stripe.result ({ paymentMethod }, { paymentIntent }, a succeeded { setupIntent }); an { error } result is refused",
    SUBTREE,
  ),
  // change_payment saves a method for the subscription; a PaymentIntent charged something the
  // bridge cannot place (which invoice, how much), so it is refused wherever Stripe.js put it.
  applied(
    "payment.stripe",
    PAYMENT,
    "default_payment_method",
    "pm_… ids, or Stripe.js results under stripe.result ({ paymentMethod }, a succeeded { setupIntent }); an { error } result is refused",
  ),
  ...["payment.stripe", "payment.stripe.result"].flatMap((at) => [
    refused(`${at}.paymentIntent`, PAYMENT, PAYMENT_INTENT_REFUSED, { neutral: isNull, ...SUBTREE }),
    refused(`${at}.payment_intent`, PAYMENT, PAYMENT_INTENT_REFUSED, { neutral: isNull, ...SUBTREE }),
  ]),
  applied("payment.stripe.result", PAYMENT, "default_payment_method", "as payment.stripe"),
  applied("payment.stripe.result.*", PAYMENT, "default_payment_method", "as payment.stripe", SUBTREE),
  applied("payment.stripe.*", PAYMENT, "default_payment_method", "as payment.stripe", SUBTREE),
  applied("payment.paymentMethodId", PAYS, "default_payment_method", ""),
  applied("payment.paymentIntentId", NEW, "invoices.attachPayment", ""),
  refused("payment.paymentIntentId", PAYMENT, PAYMENT_INTENT_REFUSED, { neutral: isNull, ...SUBTREE }),
  kept("payment.timing", PAYS, "shop telemetry", SUBTREE),
  refused("payment.*", PAYS, "other payment providers (zuora, paypal, direct_debit details, gift_code)"),
  // The shop's UI state, sent along with real shop orders (Limio's own front-end code).
  ...SHOP_UI_STATE.map(([path, note]) => kept(path, NEW, note, SUBTREE)),
  // cancel_subscription
  applied(
    "cancelDate",
    CANCEL,
    "cancel_at_period_end, or cancel_at when after the period end",
    "never ends a paid period early",
  ),
  applied("effectiveDate", CANCEL, "as cancelDate", "must agree with cancelDate", {
    feature: "effective_date",
    neutral: notFuture,
  }),
  kept("reason", CANCEL, "cancel survey", SUBTREE),
  kept("data", CANCEL, "data.reason: cancel survey", SUBTREE),
  // change_address
  applied(
    "type",
    ADDRESS,
    "billing → customer.address; delivery → customer.shipping; all → both",
    "absent: deliveryDetails alone → delivery, billingDetails alone → billing, both → all; `address` alone → the writer's configured type (WRITER_DEFAULT_ADDRESS_TYPE); the Limio store records the same addresses",
  ),
  ...addressRules(
    "address",
    ADDRESS,
    "address",
    "the new address of the type (customer.shipping for delivery, both for all); a delivery address needs a name",
  ),
  ...addressRules(
    "billingDetails",
    ADDRESS,
    "address",
    "the billing address when `address` is absent; refused with type delivery, or when `address` also gives the billing address",
  ),
  ...addressRules(
    "deliveryDetails",
    ADDRESS,
    "shipping",
    "the delivery address (type delivery or all); refused with type billing, or when `address` also gives the delivery address",
  ),
  applied("customerDetails", ADDRESS, "customer.name", "name when the address has none"),
  kept("customerDetails.*", ADDRESS, ""),
  // change_payment
  applied("payment", PAYMENT, "SetupIntent / default_payment_method", ""),
  ...addressRules(
    "billingDetails",
    PAYMENT,
    "kept",
    "Limio's Stripe plugin leaves addresses to change_address",
  ),
  // change_offer
  applied("offer", SWITCH, "the new Prices", "or orderItems.0.offer"),
  applied(
    "offer.id",
    SWITCH,
    "items[].price now, or a subscription schedule phase",
    "direction and timing: rules/switch-plan.ts",
  ),
  kept("offer.version", SWITCH, ""),
  kept("offer.*", SWITCH, "Limio's offer snapshot", SUBTREE),
  applied("orderItems", SWITCH, "the new Prices", ""),
  applied("orderItems.0", SWITCH, "the new Prices", ""),
  refused("orderItems.*", SWITCH, "a switch is to exactly one offer"),
  applied("orderItems.*.offer", SWITCH, "the new Prices", ""),
  applied("orderItems.*.offer.id", SWITCH, "items[].price now, or a subscription schedule phase", ""),
  kept("orderItems.*.offer.*", SWITCH, "Limio's offer snapshot", SUBTREE),
  refused("orderItems.*.quantity", SWITCH, "a switch keeps the subscription's quantities"),
  kept("orderItems.*.*", SWITCH, "line display fields", SUBTREE),
  applied(
    "effectiveDate",
    SWITCH,
    "now (today or earlier), or a schedule phase at that date",
    "else the offer's switch_date__limio, else the direction",
    { feature: "effective_date", neutral: notFuture },
  ),
  applied("change_type", SWITCH, "—", "", {
    only: { values: ["change_offer"], why: "add_charge and other change types are not supported" },
  }),
];

export type UnsupportedField = { path: string; message: string };

/**
 * Per order type, the table's patterns as a trie of path segments (a literal child per key, one
 * `*` child): the gateway looks up a rule for every field of every order, and the walk below
 * extends the matches of a field's parent by one segment instead of matching its whole path
 * again (a table scan per field was a tenth of an order's CPU). The most specific rule wins: a
 * literal beats `*` at the first place two patterns differ, so matches are kept literal-first,
 * and for the same pattern twice the first in table order.
 */
type TrieNode = {
  rule?: FieldRule;
  literal: Map<string, TrieNode>;
  wildcard?: TrieNode;
  /** `[this]`, the matches of a path only this node matches, built once. */
  single: readonly TrieNode[];
};
const newNode = (): TrieNode => {
  const node: TrieNode = { literal: new Map(), single: [] };
  node.single = [node];
  return node;
};

const RULE_TRIES = new Map(
  supportedOrderTypes.map((type) => {
    const root = newNode();
    for (const rule of ORDER_FIELD_RULES.filter((r) => r.types.includes(type))) {
      let node = root;
      for (const segment of rule.path.split(".")) {
        const existing = segment === "*" ? node.wildcard : node.literal.get(segment);
        const next = existing ?? newNode();
        if (segment === "*") node.wildcard = next;
        else node.literal.set(segment, next);
        node = next;
      }
      if (!node.rule) node.rule = rule;
    }
    return [type, root];
  }),
);

const NO_MATCHES: readonly TrieNode[] = [];

/** The trie nodes matching `parent`'s path extended by `key`, most specific first. */
function extend(parent: readonly TrieNode[], key: string | number): readonly TrieNode[] {
  // Most fields have one parent match and one match of their own: no array built for those.
  if (parent.length === 1) {
    const node = parent[0]!;
    const literal = node.literal.size > 0 ? node.literal.get(String(key)) : undefined;
    if (literal && node.wildcard) return [literal, node.wildcard];
    if (literal) return literal.single;
    return node.wildcard ? node.wildcard.single : NO_MATCHES;
  }
  const out: TrieNode[] = [];
  for (const node of parent) {
    const literal = node.literal.size > 0 ? node.literal.get(String(key)) : undefined;
    if (literal) out.push(literal);
    if (node.wildcard) out.push(node.wildcard);
  }
  return out;
}

const ruleOf = (matches: readonly TrieNode[]): FieldRule | undefined => {
  for (const node of matches) if (node.rule) return node.rule;
  return undefined;
};

/** The rule for a concrete path (most specific match), or undefined for an unknown field. */
export function ruleFor(type: SupportedOrderType, path: readonly (string | number)[]): FieldRule | undefined {
  let matches = RULE_TRIES.get(type)!.single;
  for (const key of path) matches = extend(matches, key);
  return ruleOf(matches);
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
  // One path, grown and shrunk as the walk goes; joined only for a refusal.
  const path: (string | number)[] = [];
  const visit = (value: unknown, parent: readonly TrieNode[]) => {
    if (value === undefined) return;
    const matches = extend(parent, path[path.length - 1]!);
    const rule = ruleOf(matches);
    if (!rule) {
      refusals.push({
        path: path.join("."),
        message: `unknown field for ${type} orders: not applied in Stripe, so refused`,
      });
      return;
    }
    // Neutral tests are pure and matter only for a refused field: run them only then.
    if (
      dispositionOf(rule, featureSet) === "refused" &&
      !rule.neutral?.test(value, { now: options.now, path: [...path] })
    ) {
      refusals.push({
        path: path.join("."),
        message:
          (rule.feature ? notYet(rule.feature) : `not supported: ${rule.note}`) +
          (rule.neutral ? `; accepted only when ${rule.neutral.when}` : ""),
      });
      return;
    }
    if (rule.only && !rule.only.values.includes(value)) {
      refusals.push({
        path: path.join("."),
        message: `${JSON.stringify(value)} is not supported (${rule.only.values.join(", ")}): ${rule.only.why}`,
      });
      return;
    }
    if (rule.subtree) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        visit(value[i], matches);
        path.pop();
      }
    } else if (isPlainObject(value)) visitFields(value, matches);
  };
  const visitFields = (object: Record<string, unknown>, matches: readonly TrieNode[]) => {
    for (const key of Object.keys(object)) {
      path.push(key);
      visit(object[key], matches);
      path.pop();
    }
  };
  visitFields(order, RULE_TRIES.get(type)!.single);
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

/**
 * What a new order's plan needs that the writer does not execute yet, named by field. The field
 * check cannot see the catalog: an offer whose own autoRenew is false, or whose charges are
 * delayed (Limio's trial), asks for a fixed term or a later start without any order field
 * saying so. The writer refuses the order with these until it executes the feature.
 */
export function planRefusals(
  plan: NewOrderPlan,
  featureSet: FeatureSet = WRITER_FEATURES,
): UnsupportedField[] {
  const refusals: UnsupportedField[] = [];
  const need = (feature: Feature, path: string | undefined, what: string) => {
    if (path !== undefined && !featureSet[feature]) {
      refusals.push({ path, message: `${notYet(feature)}: ${what}` });
    }
  };
  need("future_start", plan.trialFrom, "billing would start later than today (trial_end)");
  need("fixed_term", plan.fixedTermFrom, "the subscription would end at its term end (cancel_at)");
  need("discounts", plan.coupon ? "orderDiscount" : undefined, "a coupon on the subscription");
  const second = plan.items.find((c) => c.role === "offer" && c.path !== "orderItems.0");
  need("multiple_items", second?.path, "a second order item on the subscription");
  const addOn = [...plan.items, ...plan.addInvoiceItems].find((c) => c.role === "add_on");
  need("add_ons", addOn?.path, "an add-on");
  return refusals;
}
