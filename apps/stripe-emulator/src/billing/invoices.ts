import type Stripe from "stripe";
import type { Emulator } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { cardError, invalid } from "../http/errors.ts";
import type { Stored } from "../state.ts";
import { idOf, type JsonObject, type RequestMeta, type StoredLineItem } from "../types.ts";
import { activeDiscounts, discountAmounts } from "./discounts.ts";
import { applyItemChanges } from "./items.ts";
import { type ConfirmResult, confirmPaymentIntent, newPaymentIntent, type PaymentError } from "./payments.ts";

/** A line's price: a stored price, or the price a subscription item embeds. */
export type LinePrice = Stored<"price"> | Stored<"subscription_item">["price"];

export type LineInput = {
  amount: number;
  description: string | null;
  price: LinePrice;
  quantity: number;
  periodStart: number;
  periodEnd: number;
  subscription: string | null;
  subscriptionItem: string | null;
  proration: boolean;
  invoiceItem?: string | null;
  /** Stripe's default: false for prorations and negative lines, true otherwise (docs.stripe.com/api/invoiceitems/create). */
  discountable?: boolean;
};

export const isDiscountable = (l: LineInput): boolean => l.discountable ?? (!l.proration && l.amount >= 0);

function buildLine(emu: Emulator, invoiceId: string | null, input: LineInput): StoredLineItem {
  return {
    id: emu.state.newId("il"),
    object: "line_item",
    amount: input.amount,
    currency: input.price.currency,
    description: input.description,
    discount_amounts: [],
    discountable: isDiscountable(input),
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: {},
    parent: {
      type: "subscription_item_details",
      invoice_item_details: null,
      subscription_item_details: {
        invoice_item: input.invoiceItem ?? null,
        proration: input.proration,
        proration_details: { credited_items: null },
        subscription: input.subscription,
        subscription_item: input.subscriptionItem,
      },
    },
    period: { end: input.periodEnd, start: input.periodStart },
    pretax_credit_amounts: [],
    pricing: {
      type: "price_details",
      price_details: { price: input.price.id, product: idOf(input.price.product) },
      unit_amount_decimal: String(input.price.unit_amount ?? 0),
    },
    quantity: input.quantity,
    quantity_decimal: String(input.quantity),
    subscription: input.subscription,
    subtotal: input.amount,
    taxes: [],
  };
}

/** Lines for a full period of each subscription item at its current price. */
export function periodLines(
  emu: Emulator,
  sub: Stored<"subscription"> | { id: null },
  items: (Stored<"subscription_item"> | { id: string | null; price: LinePrice; quantity: number })[],
  start: number,
  end: number,
): LineInput[] {
  return items.map((item) => {
    const price: LinePrice = emu.state.get("price", item.price.id) ?? item.price;
    const quantity = item.quantity ?? 1; // Stripe's default; stored items always have one
    const product = emu.state.get("product", idOf(price.product));
    const label = product?.name ?? price.nickname ?? price.id;
    return {
      amount: (price.unit_amount ?? 0) * quantity,
      description: `${quantity} × ${label} (at ${formatMoney(price.unit_amount ?? 0, price.currency)} / ${price.recurring?.interval ?? "one_time"})`,
      price,
      quantity,
      periodStart: start,
      periodEnd: end,
      subscription: sub.id,
      subscriptionItem: item.id,
      proration: false,
    };
  });
}

export function formatMoney(amount: number, currency: string): string {
  const symbol =
    currency === "usd"
      ? "$"
      : currency === "gbp"
        ? "£"
        : currency === "eur"
          ? "€"
          : `${currency.toUpperCase()} `;
  return `${symbol}${(amount / 100).toFixed(2)}`;
}

/**
 * Whom a preview bills who is not a customer yet (`customer_details`, docs.stripe.com/api/invoices/create_preview):
 * no id, no test clock (the emulator's now), no currency.
 */
export type ProspectiveCustomer = {
  id: null;
  test_clock: null;
  currency: null;
  email: null;
  name: null;
  phone: null;
  address: Stripe.Address | null;
  shipping: Stripe.Invoice.CustomerShipping | null;
  tax_exempt: Stripe.Invoice.CustomerTaxExempt;
};

/** A draft invoice with the given lines (not stored when `preview`). */
export function buildInvoice(
  emu: Emulator,
  params: {
    customer: Stored<"customer"> | ProspectiveCustomer;
    subscription: Stored<"subscription"> | null;
    billingReason: string;
    lines: LineInput[];
    periodStart: number;
    periodEnd: number;
    preview?: boolean;
    description?: string | null;
    metadata?: Record<string, string>;
    autoAdvance?: boolean;
    /** When the subscription's discounts are judged (a preview of a renewal: the renewal). */
    discountsAt?: number;
    /** Discounts to apply instead of the subscription's (a new subscription's preview). */
    discounts?: Stored<"discount">[];
  },
): Stored<"invoice"> {
  const { state } = emu;
  const { customer, subscription } = params;
  const clock = customer.test_clock ?? null;
  const id = params.preview ? `upcoming_in_${state.randomString(24)}` : state.newId("in");
  const lineObjects = params.lines.map((l) => buildLine(emu, params.preview ? null : id, l));
  const subtotal = lineObjects.reduce((sum, l) => sum + l.amount, 0);
  const currency = params.lines[0]?.price.currency ?? customer.currency ?? "usd";
  const now = nowFor(emu, clock);
  // The subscription's discounts are invoice-level: listed on the invoice, their amounts per line.
  const discounts = lineObjects.some((l) => l.discountable)
    ? (params.discounts ?? activeDiscounts(emu, subscription, params.discountsAt ?? now))
    : [];
  const discounted = discountAmounts(
    discounts,
    lineObjects.map((l) => ({ amount: l.amount, discountable: l.discountable })),
  );
  lineObjects.forEach((line, i) => {
    line.discount_amounts = discounted.perLine[i] ?? [];
  });
  const totalDiscount = discounted.totals.reduce((sum, d) => sum + d.amount, 0);
  const total = subtotal - totalDiscount;
  const invoice: Stored<"invoice"> = {
    id,
    object: "invoice",
    account_country: "US",
    account_name: "Stripe Emulator",
    account_tax_ids: null,
    amount_due: Math.max(0, total),
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: Math.max(0, total),
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: params.autoAdvance ?? true,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: params.billingReason,
    collection_method: subscription?.collection_method ?? "charge_automatically",
    confirmation_secret: null,
    created: now,
    currency,
    custom_fields: null,
    customer: customer.id,
    customer_account: null,
    customer_address: customer.address ?? null,
    customer_email: customer.email ?? null,
    customer_name: customer.name ?? null,
    customer_phone: customer.phone ?? null,
    customer_shipping: customer.shipping ?? null,
    customer_tax_exempt: customer.tax_exempt ?? "none",
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: params.description ?? null,
    discounts: discounts.map((d) => d.id),
    due_date: null,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: "self" },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: "list",
      data: lineObjects,
      has_more: false,
      total_count: lineObjects.length,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: params.metadata ?? {},
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: subscription
      ? {
          type: "subscription_details",
          quote_details: null,
          subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: params.periodEnd,
    period_start: params.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: "draft",
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal,
    subtotal_excluding_tax: subtotal,
    test_clock: clock,
    total,
    total_discount_amounts: discounted.totals,
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
  if (!params.preview) state.insert("invoice", invoice);
  return invoice;
}

/** Draft → open: number, customer balance applied, PaymentIntent + default invoice payment created. */
export function finalizeInvoice(emu: Emulator, invoice: Stored<"invoice">, request: RequestMeta): void {
  const { state } = emu;
  if (invoice.status !== "draft") {
    throw invalid(`Invoice ${invoice.id} is already finalized.`, undefined, "invoice_not_editable");
  }
  const customer = billedCustomer(emu, invoice);
  const before = state.render(invoice);
  const now = nowFor(emu, invoice.test_clock);
  const balance = customer.balance ?? 0;
  const withBalance = invoice.total + balance;
  invoice.starting_balance = balance;
  invoice.amount_due = Math.max(0, withBalance);
  invoice.amount_remaining = invoice.amount_due;
  invoice.ending_balance = Math.min(0, withBalance);
  if (customer.balance !== invoice.ending_balance) customer.balance = invoice.ending_balance;
  const sequence = customer.next_invoice_sequence ?? 1; // Stripe starts at 1; stored customers have one
  invoice.number = `${customer.invoice_prefix}-${String(sequence).padStart(4, "0")}`;
  customer.next_invoice_sequence = sequence + 1;
  invoice.status = "open";
  invoice.status_transitions.finalized_at = now;
  invoice.effective_at = now;
  invoice.webhooks_delivered_at = now;
  if (invoice.amount_due > 0) {
    const pi = newPaymentIntent(
      emu,
      {
        amount: invoice.amount_due,
        currency: invoice.currency,
        customer: invoice.customer,
        description:
          invoice.billing_reason === "subscription_create" ? "Subscription creation" : "Subscription update",
        invoice: invoice.id,
        clock: invoice.test_clock,
        setupFutureUsage: "off_session",
      },
      request,
    );
    invoice._payment_intent = pi.id;
    invoice.confirmation_secret = { client_secret: pi.client_secret, type: "payment_intent" };
    createInvoicePayment(emu, invoice, pi.id);
  }
  emu.emit("invoice.finalized", invoice, { request, previous: before });
  if (invoice.amount_due === 0) markInvoicePaid(emu, invoice, request);
}

function createInvoicePayment(
  emu: Emulator,
  invoice: Stored<"invoice">,
  paymentIntentId: string,
): Stored<"invoice_payment"> {
  const payment: Stored<"invoice_payment"> = {
    id: emu.state.newId("inpay"),
    object: "invoice_payment",
    amount_paid: null,
    amount_requested: invoice.amount_due,
    created: nowFor(emu, invoice.test_clock),
    currency: invoice.currency,
    invoice: invoice.id,
    is_default: !emu.state.values("invoice_payment").some((p) => p.invoice === invoice.id),
    livemode: false,
    payment: { type: "payment_intent", payment_intent: paymentIntentId },
    status: "open",
    status_transitions: { canceled_at: null, paid_at: null },
    _test_clock: invoice.test_clock,
  };
  emu.state.insert("invoice_payment", payment);
  return payment;
}

/** The customer an invoice bills: every stored invoice has one (the emulator invoices customers only). */
function billedCustomer(emu: Emulator, invoice: Stored<"invoice">): Stored<"customer"> {
  const customer = invoice.customer ? emu.state.get("customer", invoice.customer) : undefined;
  if (!customer) throw new Error(`Invoice ${invoice.id} has no stored customer`);
  return customer;
}

/** The subscription an invoice bills, if any (API 2025-03-31: `parent.subscription_details`). */
export function subscriptionOf(
  emu: Emulator,
  invoice: Stored<"invoice">,
): Stored<"subscription"> | undefined {
  const ref = invoice.parent?.subscription_details?.subscription;
  return ref ? emu.state.get("subscription", idOf(ref)) : undefined;
}

/** The payment method Stripe would charge: invoice's, subscription's, then customer's default. */
function defaultPaymentMethodFor(emu: Emulator, invoice: Stored<"invoice">): string | null {
  const { state } = emu;
  if (invoice.default_payment_method) return invoice.default_payment_method;
  const sub = subscriptionOf(emu, invoice);
  if (sub?.default_payment_method) return sub.default_payment_method;
  const customer = invoice.customer ? state.get("customer", invoice.customer) : undefined;
  const customerDefault = customer?.invoice_settings?.default_payment_method;
  return customerDefault ? idOf(customerDefault) : null;
}

export type PayResult =
  | { ok: true }
  | {
      ok: false;
      requiresAction: boolean;
      error: PaymentError | null;
      paymentIntent: Stored<"payment_intent"> | null;
    };

/** Attempt to collect an open invoice (off session, as Billing does). Failures bump attempt_count. */
export function attemptInvoicePayment(
  emu: Emulator,
  invoice: Stored<"invoice">,
  request: RequestMeta,
  paymentMethod?: string | null,
): PayResult {
  const { state } = emu;
  if (invoice.status === "paid") return { ok: true };
  const pmId = paymentMethod ?? defaultPaymentMethodFor(emu, invoice);
  const before = state.render(invoice);
  invoice.attempt_count += 1;
  invoice.attempted = true;
  if (!pmId) {
    emu.emit("invoice.payment_failed", invoice, { request, previous: before });
    return { ok: false, requiresAction: false, error: null, paymentIntent: null };
  }
  let pi = invoice._payment_intent ? state.get("payment_intent", invoice._payment_intent) : undefined;
  if (!pi || pi.status === "succeeded" || pi.status === "canceled") {
    pi = newPaymentIntent(
      emu,
      {
        amount: invoice.amount_remaining,
        currency: invoice.currency,
        customer: invoice.customer,
        invoice: invoice.id,
        clock: invoice.test_clock,
      },
      request,
    );
    invoice._payment_intent = pi.id;
    createInvoicePayment(emu, invoice, pi.id);
  }
  // Payments attached meanwhile (partial payments) leave less to collect.
  pi.amount = invoice.amount_remaining;
  const result = confirmPaymentIntent(emu, pi, pmId, request, { offSession: true });
  settleInvoicePayment(emu, invoice, pi, result, request, before);
  if (result.status === "succeeded") return { ok: true };
  return {
    ok: false,
    requiresAction: result.status === "requires_action",
    error: result.status === "failed" ? result.error : null,
    paymentIntent: pi,
  };
}

/**
 * What an invoice's PaymentIntent outcome does to the invoice (auto-collection, `pay`, a
 * client-side confirmation, or the 3-D Secure test control): a success credits it; a failure
 * sends `invoice.payment_failed`; a payment waiting for authentication also sends
 * `invoice.payment_action_required` (docs.stripe.com/billing/subscriptions/webhooks).
 */
export function settleInvoicePayment(
  emu: Emulator,
  invoice: Stored<"invoice">,
  pi: Stored<"payment_intent">,
  result: ConfirmResult,
  request: RequestMeta,
  previous: JsonObject = emu.state.render(invoice),
): void {
  if (result.status === "succeeded") {
    creditInvoice(emu, invoice, pi, request);
    return;
  }
  emu.emit("invoice.payment_failed", invoice, { request, previous });
  if (result.status === "requires_action") emu.emit("invoice.payment_action_required", invoice, { request });
}

/** Throwing variant used by `POST /v1/invoices/:id/pay`. */
export function payInvoiceOrThrow(
  emu: Emulator,
  invoice: Stored<"invoice">,
  request: RequestMeta,
  paymentMethod?: string,
): void {
  if (invoice.status === "paid") throw invalid("Invoice is already paid");
  if (invoice.status !== "open")
    throw invalid(`You can only pay an open invoice. This invoice is ${invoice.status}.`);
  if (!paymentMethod && !defaultPaymentMethodFor(emu, invoice)) {
    throw invalid(
      "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
      undefined,
      "invoice_no_customer_line_items",
    );
  }
  const result = attemptInvoicePayment(emu, invoice, request, paymentMethod);
  if (result.ok) return;
  if (result.requiresAction) {
    // docs.stripe.com/error-codes#invoice-payment-intent-requires-action
    throw cardError(
      "This payment requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with the invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action",
      "invoice_payment_intent_requires_action",
      undefined,
      { payment_intent: result.paymentIntent ? emu.state.render(result.paymentIntent) : null },
    );
  }
  const e = result.error!;
  throw cardError(e.message, e.code, e.decline_code, {
    payment_method: e.payment_method,
    charge: e.charge,
  });
}

/**
 * A PaymentIntent of this invoice succeeded: its invoice payment is `paid` (`invoice_payment.paid`)
 * and the invoice is credited; it is `paid` only when nothing remains, otherwise it stays `open`
 * with `amount_paid` / `amount_remaining` updated (docs.stripe.com/invoicing/partial-payments).
 */
export function creditInvoice(
  emu: Emulator,
  invoice: Stored<"invoice">,
  pi: Stored<"payment_intent">,
  request: RequestMeta,
): void {
  const { state } = emu;
  if (invoice.status !== "open") return;
  const now = nowFor(emu, invoice.test_clock);
  const payment = state
    .values("invoice_payment")
    .find((p) => p.invoice === invoice.id && p.payment.payment_intent === pi.id);
  if (payment && payment.status !== "paid") {
    payment.status = "paid";
    payment.amount_paid = pi.amount_received;
    payment.status_transitions.paid_at = now;
    emu.emit("invoice_payment.paid", payment, { request });
  }
  const before = state.render(invoice);
  invoice.amount_paid += pi.amount_received;
  invoice.amount_remaining = Math.max(0, invoice.amount_due - invoice.amount_paid);
  if (invoice.amount_remaining === 0) markInvoicePaid(emu, invoice, request, pi, before);
  else emu.emit("invoice.updated", invoice, { request, previous: before });
}

export function markInvoicePaid(
  emu: Emulator,
  invoice: Stored<"invoice">,
  request: RequestMeta,
  pi?: Stored<"payment_intent">,
  previous?: JsonObject,
): void {
  const { state } = emu;
  const before = previous ?? state.render(invoice);
  const now = nowFor(emu, invoice.test_clock);
  invoice.status = "paid";
  invoice.amount_paid = invoice.amount_due;
  invoice.amount_remaining = 0;
  invoice.attempted = true;
  invoice.next_payment_attempt = null;
  invoice.status_transitions.paid_at = now;
  for (const payment of state.values("invoice_payment")) {
    if (payment.invoice === invoice.id && payment.status === "open") {
      payment.status = "canceled";
      payment.status_transitions.canceled_at = now;
    }
  }
  // The invoice's own PaymentIntent is no longer needed once other payments covered it.
  const own = invoice._payment_intent ? state.get("payment_intent", invoice._payment_intent) : undefined;
  if (own && own.id !== pi?.id && own.status !== "succeeded" && own.status !== "canceled") {
    own.status = "canceled";
    own.canceled_at = now;
    own.next_action = null;
  }
  const customer = invoice.customer ? state.get("customer", invoice.customer) : undefined;
  if (customer?.delinquent) {
    const stillOpen = state
      .values("invoice")
      .some(
        (i) =>
          i.customer === customer.id && i.status === "open" && i.attempt_count > 0 && i.id !== invoice.id,
      );
    if (!stillOpen) customer.delinquent = false;
  }
  emu.emit("invoice.paid", invoice, { request, previous: before });
  emu.emit("invoice.payment_succeeded", invoice, { request });
  const sub = subscriptionOf(emu, invoice);
  if (
    sub &&
    pi?.payment_method &&
    sub.payment_settings?.save_default_payment_method === "on_subscription" &&
    !sub.default_payment_method
  ) {
    sub.default_payment_method = pi.payment_method;
  }
  if (sub && sub.latest_invoice === invoice.id && sub._pending_item_update) {
    const subBefore = state.render(sub);
    applyItemChanges(emu, sub, sub._pending_item_update);
    sub.pending_update = null;
    delete sub._pending_item_update;
    emu.emit("customer.subscription.updated", sub, { request, previous: subBefore });
  }
  const leavesTrial = sub?.status === "trialing" && invoice.billing_reason !== "subscription_create";
  if (
    sub &&
    sub.latest_invoice === invoice.id &&
    (leavesTrial || ["incomplete", "past_due", "unpaid"].includes(sub.status))
  ) {
    const subBefore = state.render(sub);
    sub.status = "active";
    emu.emit("customer.subscription.updated", sub, { request, previous: subBefore });
  }
}

export function voidInvoice(emu: Emulator, invoice: Stored<"invoice">, request: RequestMeta): void {
  if (invoice.status !== "open" && invoice.status !== "uncollectible") {
    throw invalid(`You can only void an open or uncollectible invoice. This invoice is ${invoice.status}.`);
  }
  const before = emu.state.render(invoice);
  const now = nowFor(emu, invoice.test_clock);
  invoice.status = "void";
  invoice.amount_remaining = 0;
  invoice.next_payment_attempt = null;
  invoice.status_transitions.voided_at = now;
  const pi = invoice._payment_intent ? emu.state.get("payment_intent", invoice._payment_intent) : undefined;
  if (pi && pi.status !== "succeeded") {
    pi.status = "canceled";
    pi.canceled_at = now;
    pi.cancellation_reason = "void_invoice";
  }
  for (const payment of emu.state.values("invoice_payment")) {
    if (payment.invoice === invoice.id && payment.status === "open") {
      payment.status = "canceled";
      payment.status_transitions.canceled_at = now;
    }
  }
  emu.emit("invoice.voided", invoice, { request, previous: before });
}
