import type { Emulator } from "../context.ts";
import type { Stored } from "../state.ts";
import type { RequestMeta } from "../types.ts";
import { settleDiscounts } from "./discounts.ts";
import {
  attemptInvoicePayment,
  buildInvoice,
  finalizeInvoice,
  type LineInput,
  periodLines,
  subscriptionOf,
} from "./invoices.ts";
import { itemsOf } from "./items.ts";
import { cutAtCancel } from "./proration.ts";
import { type Interval, nextBoundary } from "./time.ts";

const CLOCK: RequestMeta = { id: null, idempotency_key: null };

/** Pending invoice items (prorations from `create_prorations`) of a subscription, consumed. */
export function takePendingItems(
  emu: Emulator,
  sub: Stored<"subscription">,
  invoiceId: string | null,
): LineInput[] {
  const lines: LineInput[] = [];
  for (const ii of emu.state.values("invoiceitem")) {
    if (ii.invoice || ii.parent?.subscription_details?.subscription !== sub.id) continue;
    if (invoiceId) ii.invoice = invoiceId;
    lines.push({
      amount: ii.amount,
      description: ii.description,
      price: emu.state.get("price", ii.pricing.price_details.price)!,
      quantity: ii.quantity,
      periodStart: ii.period.start,
      periodEnd: ii.period.end,
      subscription: sub.id,
      subscriptionItem: ii._subscription_item ?? null,
      proration: ii.proration,
      invoiceItem: ii.id,
    });
  }
  return lines;
}

/**
 * A subscription's draft invoice: its pending invoice items first (they move onto this invoice,
 * the subscription's next one), then `lines`; it becomes the subscription's latest invoice.
 */
export function invoiceSubscription(
  emu: Emulator,
  sub: Stored<"subscription">,
  params: Omit<Parameters<typeof buildInvoice>[1], "subscription" | "preview">,
  request: RequestMeta = CLOCK,
): Stored<"invoice"> {
  const pending = takePendingItems(emu, sub, null);
  const invoice = buildInvoice(emu, { ...params, subscription: sub, lines: [...pending, ...params.lines] });
  for (const line of pending) {
    const ii = line.invoiceItem ? emu.state.get("invoiceitem", line.invoiceItem) : undefined;
    if (ii) ii.invoice = invoice.id;
  }
  sub.latest_invoice = invoice.id;
  settleDiscounts(emu, sub, invoice, invoice.created, request);
  return invoice;
}

export function cancelSubscriptionNow(
  emu: Emulator,
  sub: Stored<"subscription">,
  at: number,
  request: RequestMeta,
  reason: string | null,
): void {
  const before = emu.state.render(sub);
  sub.status = "canceled";
  sub.canceled_at = sub.canceled_at ?? at;
  sub.ended_at = at;
  sub.cancel_at_period_end = false;
  const details = sub.cancellation_details;
  sub.cancellation_details = {
    comment: details?.comment ?? null,
    feedback: details?.feedback ?? null,
    feedback_option: details?.feedback_option ?? null,
    reason: reason ?? details?.reason ?? null,
  };
  if (sub.schedule) {
    const schedule = emu.state.get("subscription_schedule", sub.schedule);
    if (schedule && schedule.status === "active") {
      schedule.status = "canceled";
      schedule.canceled_at = at;
      schedule.current_phase = null;
      emu.emit("subscription_schedule.canceled", schedule, { request });
    }
  }
  emu.emit("customer.subscription.deleted", sub, { request, previous: before });
}

/** Start the next period: items move forward, a `subscription_cycle` invoice is finalized and charged. */
export function renewSubscription(emu: Emulator, sub: Stored<"subscription">, at: number): void {
  const { state } = emu;
  const items = itemsOf(emu, sub.id);
  const customerForTrial = state.get("customer", sub.customer);
  if (
    sub.status === "trialing" &&
    sub.trial_settings?.end_behavior?.missing_payment_method === "cancel" &&
    !sub.default_payment_method &&
    !customerForTrial?.invoice_settings?.default_payment_method
  ) {
    // Trial ends without a payment method and the subscription asked to cancel in that case.
    cancelSubscriptionNow(emu, sub, at, CLOCK, "cancellation_requested");
    return;
  }
  const before = state.render(sub);
  const first = items[0]!;
  const recurring = first.price.recurring;
  const previousStart = first.current_period_start;
  const start = first.current_period_end;
  const end = nextBoundary(
    sub.billing_cycle_anchor,
    start,
    recurring.interval as Interval,
    recurring.interval_count,
  );
  // A cancel_at inside the new period cuts it there, billed prorated (cutAtCancel).
  const cut = sub.cancel_at !== null && sub.cancel_at > start && sub.cancel_at < end ? sub.cancel_at : null;
  for (const item of items) {
    item.current_period_start = start;
    item.current_period_end = cut ?? end;
  }
  // A repeating discount whose `end` has come leaves the subscription before the renewal is billed.
  settleDiscounts(emu, sub, null, at, CLOCK);
  emu.emit("customer.subscription.updated", sub, { request: CLOCK, previous: before });
  const customer = state.get("customer", sub.customer)!;
  const invoice = invoiceSubscription(emu, sub, {
    customer,
    billingReason: "subscription_cycle",
    lines: cut
      ? cutAtCancel(periodLines(emu, sub, items, start, end), start, end, cut)
      : periodLines(emu, sub, items, start, end),
    periodStart: previousStart,
    periodEnd: start,
  });
  emu.emit("invoice.created", invoice, { request: CLOCK });
  finalizeInvoice(emu, invoice, CLOCK);
  if (invoice.status === "open") collectAutomatically(emu, invoice, at);
}

/** One automatic collection attempt (renewal or Smart Retry) and the dunning that follows a failure. */
export function collectAutomatically(
  emu: Emulator,
  invoice: Stored<"invoice">,
  at: number,
  request: RequestMeta = CLOCK,
): void {
  const { state, config } = emu;
  const result = attemptInvoicePayment(emu, invoice, request);
  const customer = invoice.customer ? state.get("customer", invoice.customer) : undefined;
  if (result.ok) return;
  if (customer) customer.delinquent = true;
  const sub = subscriptionOf(emu, invoice);
  const retriesUsed = invoice.attempt_count - 1;
  if (retriesUsed < config.dunning.retries) {
    invoice.next_payment_attempt = at + config.dunning.intervalSeconds;
  } else {
    invoice.next_payment_attempt = null;
  }
  if (!sub || sub.latest_invoice !== invoice.id || sub.status === "canceled") return;
  if (invoice.next_payment_attempt !== null) {
    if (sub.status === "active" || sub.status === "trialing") {
      const before = state.render(sub);
      sub.status = "past_due";
      emu.emit("customer.subscription.updated", sub, { request, previous: before });
    }
    return;
  }
  // Retries exhausted: Stripe's "subscription status" setting after all retries fail.
  const final = config.dunning.finalStatus;
  if (final === "canceled") {
    cancelSubscriptionNow(emu, sub, at, request, "payment_failed");
  } else if (sub.status !== final) {
    const before = state.render(sub);
    sub.status = final;
    emu.emit("customer.subscription.updated", sub, { request, previous: before });
  }
}
