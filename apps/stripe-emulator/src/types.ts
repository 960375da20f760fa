import type Stripe from "stripe";
import type { CardBehavior } from "./billing/cards.ts";

/** A JSON object as the HTTP layer walks it: a rendered response, a parsed form, a list envelope. */
export type JsonObject = { [key: string]: unknown };

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Metadata of the API request that caused a change (null for clock-driven changes). */
export type RequestMeta = { id: string | null; idempotency_key: string | null };

/**
 * The emulator stores every reference as an id (Stripe's default, unexpanded form); `expand[]`
 * replaces ids only in a rendered copy. So the stored shape of an SDK type keeps, of a top-level
 * field typed "id or expanded object", only the id.
 */
type Unexpanded<T> = {
  [K in keyof T]: string extends T[K] ? Exclude<T[K], { id: string }> : T[K];
};

/** Insertion order within one second (internal to the store). */
type Sequenced = { _seq?: number };

/** The clock a payment object lives on (Stripe's own PaymentIntents/charges carry none). */
type OnClock = { _test_clock?: string | null };

/** Internal fields of a stored test-card PaymentMethod (never rendered). */
export type StoredPaymentMethod = Unexpanded<Stripe.PaymentMethod> &
  Sequenced &
  OnClock & {
    /** What the test card does (docs.stripe.com/testing). */
    _card?: CardBehavior;
    /** Saved through a SetupIntent or a payment with setup_future_usage (no more authentication). */
    _set_up?: boolean;
  };

/**
 * A charge as the emulator keeps it: there is no charges route, a charge is reachable only by
 * expanding a PaymentIntent's `latest_charge`, and carries what a payment's outcome needs (amount,
 * status, failure code, outcome). The rest of Stripe.Charge (balance transaction, fraud details,
 * payment method details…) describes money movement the emulator does not model.
 */
type StoredCharge = Pick<
  Unexpanded<Stripe.Charge>,
  | "id"
  | "object"
  | "amount"
  | "amount_captured"
  | "amount_refunded"
  | "captured"
  | "created"
  | "currency"
  | "customer"
  | "description"
  | "failure_code"
  | "failure_message"
  | "livemode"
  | "metadata"
  | "paid"
  | "payment_intent"
  | "payment_method"
  | "refunded"
  | "status"
> & {
  billing_details: Stripe.Charge.BillingDetails | null;
  outcome: Pick<
    Stripe.Charge.Outcome,
    "network_status" | "reason" | "risk_level" | "seller_message" | "type"
  >;
} & Sequenced &
  OnClock;

/**
 * An event as the emulator records it: Stripe.EventBase with the event's type and rendered object.
 * Stripe.Event is a union over every event type, each fixing `data.object`'s type; the emulator
 * builds events generically from the object that changed.
 */
type StoredEvent = Omit<Stripe.EventBase, "data" | "request" | "type"> & {
  type: string;
  data: { object: JsonObject; previous_attributes?: JsonObject };
  request: RequestMeta;
} & Sequenced;

/**
 * A price as sent on the wire: `unit_amount_decimal` is a decimal string there; SDK 23 turns it
 * into its own Decimal class when it reads a response, and its Price type describes that result.
 */
type StoredPrice = Omit<Unexpanded<Stripe.Price>, "unit_amount_decimal"> & {
  unit_amount_decimal: string | null;
} & Sequenced;

/**
 * A deleted customer or product stays in the store, marked `deleted`, because other objects still
 * name it (a price its product, an invoice its customer); the API answers 404 for it, as Stripe does.
 * The SDK types the live object with `deleted?: void`, so the mark is declared here.
 */
type Deletable<T> = Omit<T, "deleted"> & { deleted?: true };

/**
 * A price as a subscription item embeds it: the stored price without the store's internal fields,
 * always recurring (`recurringOf` refuses a one-time price for an item).
 */
export type ItemPrice = Omit<StoredPrice, keyof Sequenced | "recurring"> & {
  recurring: Stripe.Price.Recurring;
};

/** The legacy `plan` view of a recurring price, `amount_decimal` a decimal string as on the wire (see StoredPrice). */
export type ItemPlan = Omit<Stripe.Plan, "amount_decimal"> & { amount_decimal: string | null };

/**
 * A subscription item embeds its price and plan as the wire shows them (ItemPrice, ItemPlan).
 * Without `current_trial`: SDK 23 declares it, Stripe's fixture does not (shape test); item-level
 * trials are not modelled.
 */
type StoredSubscriptionItem = Omit<
  Unexpanded<Stripe.SubscriptionItem>,
  "current_trial" | "price" | "plan"
> & {
  price: ItemPrice;
  plan: ItemPlan;
} & Sequenced;

/**
 * A pending update as `pending_if_incomplete` records it: the attributes Stripe's pending-updates
 * reference lists (docs.stripe.com/billing/subscriptions/pending-updates-reference). SDK 23 also
 * declares `cancel_at_period_end`, `discount(s)` and `metadata`, which no pending update here can
 * change. `subscription_items` are rendered items as they will be (an added item has no id yet).
 */
type StoredPendingUpdate = Pick<
  Stripe.Subscription.PendingUpdate,
  "billing_cycle_anchor" | "expires_at" | "trial_end" | "trial_from_plan"
> & { subscription_items: JsonObject[] };

/**
 * A subscription without `items`: its items are stored on their own and listed into the rendered
 * copy (State.render), as Stripe lists them (docs.stripe.com/api/subscriptions/object#subscription_object-items).
 */
type StoredSubscription = Omit<Unexpanded<Stripe.Subscription>, "items" | "pending_update"> & {
  pending_update: StoredPendingUpdate | null;
} & Sequenced & { _pending_item_update?: StoredItemUpdate; _trial_will_end_sent?: boolean };

/**
 * Without `pause_schedules`: SDK 23 declares it, Stripe's fixture does not (shape test); pausing
 * a schedule is not modelled.
 */
type StoredSubscriptionSchedule = Omit<Unexpanded<Stripe.SubscriptionSchedule>, "pause_schedules"> &
  Sequenced;

/**
 * SDK 23 declares `allowed_payment_method_types` on PaymentIntents and SetupIntents and
 * `payment_record` on PaymentIntents; Stripe's published fixture has neither (shape test), and the
 * emulator models card payments only, so they are left out.
 */
type WithoutNewPaymentFields<T> = Omit<T, "allowed_payment_method_types" | "payment_record">;

/**
 * A payment error as the emulator records it: a card error, so it always has a `code` and a
 * `message` (optional in the SDK, which types every error type); the payment method that failed is
 * kept rendered as it was at the failure (null when there was none).
 */
type StoredPaymentError<E> = Omit<E, "payment_method" | "code" | "message"> & {
  code: string;
  message: string;
  payment_method: JsonObject | null;
};

type StoredPaymentIntent = Omit<
  WithoutNewPaymentFields<Unexpanded<Stripe.PaymentIntent>>,
  "last_payment_error"
> & {
  last_payment_error: StoredPaymentError<Stripe.PaymentIntent.LastPaymentError> | null;
};

type StoredSetupIntent = Omit<WithoutNewPaymentFields<Unexpanded<Stripe.SetupIntent>>, "last_setup_error"> & {
  last_setup_error: StoredPaymentError<Stripe.SetupIntent.LastSetupError> | null;
};

/**
 * How an invoice line or invoice item is priced as the emulator stores it: always from a price
 * (the emulator bills prices only), kept as its id, and `unit_amount_decimal` as the wire's decimal
 * string (SDK 23 reads it into its Decimal class, as for a price).
 */
type StoredPricing = {
  type: "price_details";
  price_details: { price: string; product: string };
  unit_amount_decimal: string | null;
};

/**
 * An invoice line: pricing and `quantity_decimal` as on the wire (StoredPricing). Every line is
 * filed under `subscription_item_details`; a one-off line (`add_invoice_items`) has no item there
 * (`subscription_item: null`, where the SDK declares a string), as the emulator has always
 * rendered it.
 */
export type StoredLineItem = Omit<Stripe.InvoiceLineItem, "pricing" | "quantity_decimal" | "parent"> & {
  pricing: StoredPricing;
  quantity_decimal: string | null;
  parent: {
    type: "subscription_item_details";
    invoice_item_details: null;
    subscription_item_details: Omit<
      Stripe.InvoiceLineItem.Parent.SubscriptionItemDetails,
      "subscription_item"
    > & { subscription_item: string | null };
  };
};

/** An invoice with its stored lines; `lines` carries `total_count`, as the emulator renders its lists. */
type StoredInvoice = Omit<Unexpanded<Stripe.Invoice>, "lines"> & {
  lines: Stripe.ApiList<StoredLineItem> & { total_count: number };
};

/**
 * An invoice item: the emulator creates them only as a subscription's pending prorations
 * (`create_prorations`), so its parent is always the subscription (with the item it prorates, null
 * only for a line whose item is not created yet), its pricing a price (StoredPricing) and
 * `quantity_decimal` the wire's string.
 */
type StoredInvoiceItem = Omit<Unexpanded<Stripe.InvoiceItem>, "pricing" | "quantity_decimal" | "parent"> & {
  pricing: StoredPricing;
  quantity_decimal: string;
  parent: {
    type: "subscription_details";
    subscription_details: { subscription: string; subscription_item: string | null };
  };
};

/** The stored shape per object type: the official SDK's type plus the internal `_` fields it needs. */
export type StoredObjects = {
  customer: Deletable<Unexpanded<Stripe.Customer>> & Sequenced;
  /** Without `tax_details`: SDK 23 declares it, Stripe's fixture does not (shape test); tax is not modelled. */
  product: Deletable<Omit<Unexpanded<Stripe.Product>, "tax_details">> & Sequenced;
  price: StoredPrice;
  coupon: Stripe.Coupon & Sequenced;
  /** `_coupon`: the coupon's terms as redeemed (deleting the coupon later changes no price). */
  discount: Unexpanded<Stripe.Discount> & Sequenced & { _coupon: Stripe.Coupon };
  payment_method: StoredPaymentMethod;
  /** `_authenticated`: the customer passed 3-D Secure (the emulator's test control). */
  setup_intent: StoredSetupIntent & Sequenced & OnClock & { _authenticated?: boolean };
  /** `_invoice`: the invoice it pays (API 2025-03-31 moved that link to invoice payments). */
  payment_intent: StoredPaymentIntent &
    Sequenced &
    OnClock & { _invoice?: string | null; _authenticated?: boolean };
  charge: StoredCharge;
  /**
   * `_pending_item_update`: the item changes a `pending_if_incomplete` update applies once its
   * invoice is paid; `_trial_will_end_sent`: `customer.subscription.trial_will_end` went out.
   */
  subscription: StoredSubscription;
  subscription_item: StoredSubscriptionItem;
  subscription_schedule: StoredSubscriptionSchedule;
  /** `_payment_intent`: the PaymentIntent collecting it (not rendered since API 2025-03-31). */
  invoice: StoredInvoice & Sequenced & { _payment_intent?: string };
  /** `_subscription_item`: the item a pending proration belongs to, for the invoice line it becomes. */
  invoiceitem: StoredInvoiceItem & Sequenced & { _subscription_item?: string | null };
  invoice_payment: Unexpanded<Stripe.InvoicePayment> & Sequenced & OnClock;
  event: StoredEvent;
  /** `_secret`: the signing secret, returned once by create and never rendered again. */
  webhook_endpoint: Unexpanded<Stripe.WebhookEndpoint> & Sequenced & { _secret: string };
  "test_helpers.test_clock": Stripe.TestHelpers.TestClock & Sequenced;
};

/** An item change in storable form (also kept on a subscription as its pending update). */
type StoredItemChange = {
  itemId: string | null;
  priceId: string;
  quantity: number;
  deleted: boolean;
  metadata?: Record<string, string>;
};

/** Item changes of an update, in storable form (a `pending_if_incomplete` one is kept until paid). */
export type StoredItemUpdate = {
  changes: StoredItemChange[];
  resetAnchor: boolean;
  now: number;
  periodStart: number;
  periodEnd: number;
  newPeriodEnd: number;
};

/**
 * A `*Params` type of the SDK as it arrives in a form body: qs leaves every scalar a string
 * (`quantity=2` is "2"), arrays and nested objects keep their shape, and any key may be absent.
 * The body has passed `rejectUnknownParams` (the SDK's declared params, at every depth) first.
 */
export type Form<T> = T extends string
  ? T
  : T extends number | boolean
    ? string
    : T extends readonly (infer U)[]
      ? Form<U>[]
      : T extends object
        ? { [K in keyof T]?: Form<T[K]> }
        : T;

/** The emulator stores references as ids; the SDK types also allow the expanded object. */
export const idOf = (ref: string | { id: string }): string => (typeof ref === "string" ? ref : ref.id);
