import type Stripe from "stripe";
import { couponsForNewSubscription, discountFrom } from "../billing/discounts.ts";
import {
  buildInvoice,
  creditInvoice,
  finalizeInvoice,
  markInvoicePaid,
  type ProspectiveCustomer,
  payInvoiceOrThrow,
  periodLines,
  voidInvoice,
} from "../billing/invoices.ts";
import { itemsOf } from "../billing/items.ts";
import { cutAtCancel } from "../billing/proration.ts";
import { takePendingItems } from "../billing/renewal.ts";
import { type Interval, nextBoundary } from "../billing/time.ts";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { bool, mergeMetadata, metadata, nullableStr, requireStr, str } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { type Form, idOf } from "../types.ts";
import { getCustomer } from "./customers.ts";
import { getPaymentMethod } from "./payment_methods.ts";
import { oneOffLines, trialEndOf } from "./subscription-create.ts";
import { getSubscription, newSubscriptionItems, planItemsUpdate } from "./subscription-plan.ts";

function getInvoice(call: Call, id: string, param = "id"): Stored<"invoice"> {
  const invoice = call.emu.state.get("invoice", id);
  if (!invoice) throw noSuch("invoice", id, param);
  return invoice;
}

function preview(call: Call): Stored<"invoice"> {
  const emu = call.emu;
  const b = paramsOf<Stripe.InvoiceCreatePreviewParams>(call);
  const scheduleId = str(b.schedule, "schedule");
  if (scheduleId) return previewSchedule(call, scheduleId);
  let sub: Stored<"subscription"> | undefined;
  const subId = str(b.subscription, "subscription");
  if (subId) sub = getSubscription(call, subId, "subscription");
  const customerId = str(b.customer, "customer") ?? sub?.customer;
  const details = b.subscription_details ?? {};
  if (!customerId && b.customer_details !== undefined && details.items !== undefined) {
    // Someone who is not a customer yet: `customer_details` describes them ("Details about the
    // customer you want to invoice", docs.stripe.com/api/invoices/create_preview). Stricter than
    // Stripe, which needs none of customer / customer_details without automatic tax.
    return previewNewSubscription(call, prospectiveCustomer(b.customer_details), details);
  }
  if (!customerId)
    throw invalid(
      "Missing required param: customer, customer_details or subscription.",
      "customer",
      "parameter_missing",
    );
  const customer = getCustomer(call, customerId, "customer");
  if (!sub && details.items !== undefined) return previewNewSubscription(call, customer, details);
  if (b.discounts !== undefined || b.invoice_items !== undefined) {
    // An existing subscription's preview with other discounts or items is not modelled.
    throw invalid(
      "The emulator previews `discounts` and `invoice_items` only for a new subscription (no `subscription`).",
      b.discounts !== undefined ? "discounts" : "invoice_items",
    );
  }
  if (!sub) {
    sub = emu.state
      .all("subscription")
      .find((s) => s.customer === customer.id && !["canceled", "incomplete_expired"].includes(s.status));
  }
  if (!sub)
    throw invalid("No upcoming invoices for customer: " + customer.id, undefined, "invoice_upcoming_none");
  if (sub.status === "canceled")
    throw invalid(
      "No upcoming invoices for a canceled subscription.",
      "subscription",
      "invoice_upcoming_none",
    );
  const items = itemsOf(emu, sub.id);
  const pending = takePendingItems(emu, sub, null).map((l) => ({ ...l }));
  // takePendingItems does not mark items when invoiceId is null: the preview has no side effects.
  const hasChanges = details.items !== undefined || details.billing_cycle_anchor !== undefined;
  if (hasChanges) {
    const plan = planItemsUpdate(call, sub, details.items, {
      prorationBehavior: details.proration_behavior,
      prorationDate: details.proration_date,
      billingCycleAnchor: details.billing_cycle_anchor,
    });
    if (plan.resetAnchor || plan.prorationBehavior === "always_invoice") {
      return buildInvoice(emu, {
        customer,
        subscription: sub,
        billingReason: "subscription_update",
        lines: [...pending, ...plan.prorationLines, ...plan.periodLines],
        periodStart: plan.now,
        periodEnd: plan.now,
        preview: true,
      });
    }
    const recurring = plan.changes.find((c) => !c.deleted)!.price.recurring;
    const nextEnd = nextBoundary(
      sub.billing_cycle_anchor,
      plan.periodEnd,
      recurring.interval as Interval,
      recurring.interval_count,
    );
    const nextLines = plan.changes
      .filter((c) => !c.deleted)
      .map((c) => ({ id: c.item?.id ?? null, price: c.price, quantity: c.quantity }));
    return datedAtRenewal(
      buildInvoice(emu, {
        customer,
        subscription: sub,
        billingReason: "upcoming",
        lines: [
          ...pending,
          ...plan.prorationLines,
          ...periodLines(emu, sub, nextLines, plan.periodEnd, nextEnd),
        ],
        periodStart: plan.periodStart,
        periodEnd: plan.periodEnd,
        preview: true,
        discountsAt: plan.periodEnd,
      }),
      plan.periodEnd,
    );
  }
  const first = items[0]!;
  const end = first.current_period_end;
  const attached = sub.schedule ? emu.state.get("subscription_schedule", sub.schedule) : undefined;
  if (attached && scheduleAtRenewal(attached, end).changes) {
    // Stripe documents previewing a schedule's own upcoming invoice (`schedule`: "The identifier of
    // the schedule whose upcoming invoice you'd like to retrieve", OpenAPI POST
    // /v1/invoices/create_preview), not what a `subscription` preview makes of the schedule's next
    // phase or end: refused (stricter) rather than previewing items the renewal will not bill.
    throw invalid(
      `The emulator does not preview subscription ${sub.id} by \`subscription\`: its schedule ${attached.id} changes the next invoice. Preview it with \`schedule\`.`,
      "subscription",
    );
  }
  const nextEnd = nextBoundary(
    sub.billing_cycle_anchor,
    end,
    first.price.recurring.interval as Interval,
    first.price.recurring.interval_count,
  );
  // A subscription that ends at or before this period's end has no upcoming invoice; one that
  // ends inside the next period previews that period cut at cancel_at (as the renewal bills it).
  if (sub.cancel_at !== null && sub.cancel_at <= end) {
    throw invalid(
      `No upcoming invoices for subscription ${sub.id}: it is set to cancel at ${sub.cancel_at}.`,
      "subscription",
      "invoice_upcoming_none",
    );
  }
  const next = periodLines(emu, sub, items, end, nextEnd);
  const cancelAt = sub.cancel_at;
  const cut = cancelAt !== null && cancelAt < nextEnd;
  return datedAtRenewal(
    buildInvoice(emu, {
      customer,
      subscription: sub,
      billingReason: "upcoming",
      lines: [...pending, ...(cut ? cutAtCancel(next, end, nextEnd, cancelAt) : next)],
      periodStart: first.current_period_start,
      periodEnd: end,
      preview: true,
      discountsAt: end,
    }),
    end,
  );
}

type Phase = Stripe.SubscriptionSchedule.Phase;

/**
 * What a live schedule does at its subscription's renewal (`end`, the current period's end): the
 * phase in effect from then (a phase's items replace the subscription's when it starts,
 * docs.stripe.com/billing/subscriptions/subscription-schedules#phases), or none: the schedule
 * ended by then, and `end_behavior` says whether the subscription goes on (`release`) or is
 * cancelled (`cancel`, docs.stripe.com/api/subscription_schedules/object#subscription_schedule_object-end_behavior).
 * `changes`: the renewal differs from renewing the subscription as it stands.
 */
function scheduleAtRenewal(
  schedule: Stored<"subscription_schedule">,
  end: number,
): { phase: Phase | undefined; changes: boolean } {
  if (schedule.status !== "active") return { phase: undefined, changes: false };
  const phase = schedule.phases.find((p) => p.start_date <= end && end < p.end_date);
  const current = schedule.current_phase;
  const starts = phase !== undefined && phase.start_date !== current?.start_date;
  const ends = phase === undefined && schedule.end_behavior === "cancel";
  return { phase, changes: starts || ends };
}

const NOT_WITH_SCHEDULE = [
  "subscription",
  "subscription_details",
  "schedule_details",
  "discounts",
  "invoice_items",
];

/**
 * `schedule`: "The identifier of the schedule whose upcoming invoice you'd like to retrieve.
 * Cannot be used with subscription or subscription fields" (OpenAPI POST /v1/invoices/create_preview).
 * Modelled for a schedule that manages a subscription: its next renewal, billing the items of the
 * phase in effect from then, or none when the schedule cancels the subscription by then. Phases
 * that start or end inside a billing period (prorations, a new anchor), phase discounts other than
 * the subscription's, and a schedule that has not started are refused (not modelled).
 */
function previewSchedule(call: Call, scheduleId: string): Stored<"invoice"> {
  const emu = call.emu;
  const b = paramsOf<Stripe.InvoiceCreatePreviewParams>(call) as Record<string, unknown>;
  const other = NOT_WITH_SCHEDULE.find((k) => b[k] !== undefined);
  if (other) throw invalid(`You cannot combine \`schedule\` with \`${other}\`.`, other);
  const schedule = emu.state.get("subscription_schedule", scheduleId);
  if (!schedule) throw noSuch("subscription_schedule", scheduleId, "schedule");
  const sub =
    schedule.status === "active" && schedule.subscription
      ? emu.state.get("subscription", schedule.subscription)
      : undefined;
  if (!sub)
    throw invalid(
      `The emulator previews a schedule only while it manages a subscription; ${schedule.id} is ${schedule.status}.`,
      "schedule",
    );
  const customerId = str(b.customer, "customer");
  if (customerId && customerId !== sub.customer)
    throw invalid(`The schedule ${schedule.id} does not belong to customer ${customerId}.`, "customer");
  const customer = getCustomer(call, sub.customer, "customer");
  const items = itemsOf(emu, sub.id);
  const first = items[0]!;
  const end = first.current_period_end;
  const now = nowFor(emu, customer.test_clock);
  if (schedule.phases.some((p) => p.start_date > now && p.start_date < end))
    throw invalid(
      `The emulator does not preview schedule ${schedule.id}: a phase starts inside the current billing period.`,
      "schedule",
    );
  const { phase, changes } = scheduleAtRenewal(schedule, end);
  if (!phase && schedule.end_behavior === "cancel")
    throw invalid(
      `No upcoming invoices for subscription ${sub.id}: its schedule ${schedule.id} cancels it at ${schedule.phases.at(-1)?.end_date}.`,
      "schedule",
      "invoice_upcoming_none",
    );
  const next =
    phase && changes
      ? phase.items.map((p, i) => ({
          id: items[i]?.id ?? null,
          price: emu.state.get("price", idOf(p.price))!,
          quantity: p.quantity ?? 1,
        }))
      : items;
  if (phase && changes) {
    const kept = new Set(phase.discounts.flatMap((d) => (d.discount ? [idOf(d.discount)] : [])));
    const current = sub.discounts.map(idOf);
    if (kept.size !== current.length || current.some((d) => !kept.has(d)))
      throw invalid(
        `The emulator does not preview schedule ${schedule.id}: its next phase's discounts differ from the subscription's.`,
        "schedule",
      );
  }
  const recurring = next[0]!.price.recurring!;
  // A phase entered at the renewal bills from its start; the anchor is that start either way.
  const anchor = phase && changes ? phase.start_date : sub.billing_cycle_anchor;
  const nextEnd = nextBoundary(anchor, end, recurring.interval as Interval, recurring.interval_count);
  if (phase && phase.end_date < nextEnd)
    throw invalid(
      `The emulator does not preview schedule ${schedule.id}: its phase ends inside the previewed billing period.`,
      "schedule",
    );
  const pending = takePendingItems(emu, sub, null).map((l) => ({ ...l }));
  return datedAtRenewal(
    buildInvoice(emu, {
      customer,
      subscription: sub,
      billingReason: "upcoming",
      lines: [...pending, ...periodLines(emu, sub, next, end, nextEnd)],
      periodStart: first.current_period_start,
      periodEnd: end,
      preview: true,
      discountsAt: end,
    }),
    end,
  );
}

const NEW_SUBSCRIPTION_DETAILS = ["items", "trial_end", "proration_behavior", "billing_mode", "metadata"];

/**
 * Preview of creating a subscription (docs.stripe.com/api/invoices/create_preview: without
 * `subscription`, `subscription_details` describes a new one): the first invoice with its
 * `invoice_items` (like `add_invoice_items`) and `discounts` (coupons checked, not redeemed).
 */
function previewNewSubscription(
  call: Call,
  customer: Stored<"customer"> | ProspectiveCustomer,
  details: Form<Stripe.InvoiceCreatePreviewParams.SubscriptionDetails>,
): Stored<"invoice"> {
  const emu = call.emu;
  const b = paramsOf<Stripe.InvoiceCreatePreviewParams>(call);
  const other = Object.keys(details).find((k) => !NEW_SUBSCRIPTION_DETAILS.includes(k));
  if (other)
    throw invalid(
      `The emulator does not model \`subscription_details[${other}]\` in a new subscription's preview.`,
      `subscription_details[${other}]`,
    );
  const now = nowFor(emu, customer.test_clock);
  const trialEnd = trialEndOf(details.trial_end, now, "subscription_details[trial_end]");
  const { items, recurring, currency } = newSubscriptionItems(
    call,
    details.items,
    "subscription_details[items]",
  );
  const coupons = couponsForNewSubscription(call, b.discounts, {
    customer: customer.id,
    currency,
    start: now,
    trial: trialEnd !== undefined,
  });
  const end = trialEnd ?? nextBoundary(now, now, recurring.interval as Interval, recurring.interval_count);
  const lines = periodLines(
    emu,
    { id: null },
    items.map(({ price, quantity }) => ({ id: null, price, quantity })),
    now,
    end,
  ).map((line) => (trialEnd ? { ...line, amount: 0, subscription: null } : { ...line, subscription: null }));
  return buildInvoice(emu, {
    customer,
    subscription: null,
    billingReason: "subscription_create",
    lines: [...lines, ...oneOffLines(call, b.invoice_items, now, "invoice_items")],
    periodStart: now,
    periodEnd: now,
    preview: true,
    discounts: coupons.map((c) =>
      discountFrom(
        c,
        { customer: customer.id, subscription: "", currency, start: now },
        emu.state.newId("di"),
      ),
    ),
  });
}

/** The customer a preview's `customer_details` describes: no id, no test clock (the emulator's now). */
function prospectiveCustomer(
  details: Form<Stripe.InvoiceCreatePreviewParams.CustomerDetails>,
): ProspectiveCustomer {
  const shipping = details.shipping || null;
  return {
    id: null,
    test_clock: null,
    currency: null,
    email: null,
    name: null,
    phone: null,
    address: details.address ? addressOf(details.address) : null,
    shipping: shipping
      ? { address: addressOf(shipping.address ?? {}), name: shipping.name, phone: shipping.phone ?? null }
      : null,
    tax_exempt: details.tax_exempt ?? "none",
  };
}

/** An address as Stripe renders it: every field present, null when not given (docs.stripe.com/api/customers/object#customer_object-address). */
function addressOf(address: Form<Stripe.AddressParam>): Stripe.Address {
  return {
    city: address.city ?? null,
    country: address.country ?? null,
    line1: address.line1 ?? null,
    line2: address.line2 ?? null,
    postal_code: address.postal_code ?? null,
    state: address.state ?? null,
  };
}

/**
 * Stripe dates the upcoming invoice at the renewal it previews, not at the call: `created` and
 * `next_payment_attempt` are the period boundary, so two previews of one renewal are identical.
 */
function datedAtRenewal(invoice: Stored<"invoice">, renewal: number): Stored<"invoice"> {
  return { ...invoice, created: renewal, next_payment_attempt: renewal };
}

/**
 * `POST /v1/invoices/:id/attach_payment` with `payment_intent` (docs.stripe.com/invoicing/partial-payments,
 * docs.stripe.com/api/invoices/attach_payment): the PaymentIntent must be the invoice's customer's,
 * in the invoice's currency, for at most `amount_remaining`; it is credited when it succeeds (at
 * once if it already has), and the invoice is `paid` only when nothing remains.
 */
function attachPayment(call: Call): Stored<"invoice"> {
  const emu = call.emu;
  const invoice = getInvoice(call, call.params.id!);
  const piId = requireStr(paramsOf<Stripe.InvoiceAttachPaymentParams>(call).payment_intent, "payment_intent");
  const pi = emu.state.get("payment_intent", piId);
  if (!pi) throw noSuch("payment_intent", piId, "payment_intent");
  if (invoice.status !== "open") {
    throw invalid(`You can only attach payments to an open invoice. This invoice is ${invoice.status}.`);
  }
  if (pi._invoice && pi._invoice !== invoice.id) {
    throw invalid(
      "This PaymentIntent is already attached to another invoice.",
      "payment_intent",
      "payment_intent_unexpected_state",
    );
  }
  if (pi._invoice === invoice.id) return invoice;
  if (pi.status === "canceled") {
    throw invalid(
      "You cannot attach a canceled PaymentIntent to an invoice.",
      "payment_intent",
      "payment_intent_unexpected_state",
    );
  }
  if (pi.customer !== invoice.customer) {
    throw invalid(
      `The PaymentIntent's customer (${pi.customer ?? "none"}) must be the invoice's customer (${invoice.customer}).`,
      "payment_intent",
    );
  }
  if (pi.currency !== invoice.currency) {
    throw invalid(
      `The PaymentIntent's currency (${pi.currency}) must match the invoice's currency (${invoice.currency}).`,
      "payment_intent",
    );
  }
  if (pi.amount > invoice.amount_remaining) {
    throw invalid(
      `The PaymentIntent's amount (${pi.amount}) exceeds the invoice's amount_remaining (${invoice.amount_remaining}).`,
      "payment_intent",
    );
  }
  pi._invoice = invoice.id;
  const payment: Stored<"invoice_payment"> = {
    id: emu.state.newId("inpay"),
    object: "invoice_payment",
    amount_paid: null,
    amount_requested: pi.amount,
    created: nowFor(emu, invoice.test_clock),
    currency: pi.currency,
    invoice: invoice.id,
    is_default: false,
    livemode: false,
    payment: { type: "payment_intent", payment_intent: pi.id },
    status: "open",
    status_transitions: { canceled_at: null, paid_at: null },
    _test_clock: invoice.test_clock,
  };
  emu.state.insert("invoice_payment", payment);
  emu.emit("invoice_payment.attached", payment, { request: call.request });
  if (pi.status === "succeeded") creditInvoice(emu, invoice, pi, call.request);
  return invoice;
}

/**
 * OpenAPI POST /v1/invoices/{invoice}/pay, `payment_method`: "must be the ID of a PaymentMethod
 * belonging to the customer associated with the invoice being paid". An unknown id is Stripe's
 * 404 `resource_missing`; a method of another customer (or of none, as a `pm_card_…` test id
 * resolves to) a 400 on `payment_method`, before any payment is attempted.
 */
function requireInvoiceCustomersMethod(
  call: Call,
  invoice: Stored<"invoice">,
  paymentMethodId: string,
): void {
  const pm = getPaymentMethod(call, paymentMethodId, "payment_method");
  if (pm.customer !== invoice.customer) {
    throw invalid(
      `The PaymentMethod \`${paymentMethodId}\` does not belong to the Customer \`${invoice.customer}\` of this invoice. The payment method must be attached to the customer.`,
      "payment_method",
    );
  }
}

export const invoiceRoutes: Route[] = [
  { method: "POST", path: "/v1/invoices/create_preview", handler: preview },
  {
    method: "POST",
    path: "/v1/invoices",
    handler: (call) => {
      const b = paramsOf<Stripe.InvoiceCreateParams>(call);
      const customer = getCustomer(call, requireStr(b.customer, "customer"), "customer");
      const subId = str(b.subscription, "subscription");
      const sub = subId ? getSubscription(call, subId, "subscription") : null;
      const invoice = buildInvoice(call.emu, {
        customer,
        subscription: sub,
        billingReason: "manual",
        lines: [],
        periodStart: nowFor(call.emu, customer.test_clock),
        periodEnd: nowFor(call.emu, customer.test_clock),
        description: str(b.description, "description") ?? null,
        metadata: metadata(b.metadata),
        autoAdvance: bool(b.auto_advance, "auto_advance") ?? false,
      });
      call.emu.emit("invoice.created", invoice, { request: call.request });
      return invoice;
    },
  },
  { method: "GET", path: "/v1/invoices/:id", handler: (call) => getInvoice(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/invoices/:id",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      const before = call.emu.state.render(invoice);
      const b = paramsOf<Stripe.InvoiceUpdateParams>(call);
      if ("metadata" in b) invoice.metadata = mergeMetadata(invoice.metadata, b.metadata);
      if ("description" in b) invoice.description = nullableStr(b.description, "description") ?? null;
      if ("auto_advance" in b) invoice.auto_advance = bool(b.auto_advance, "auto_advance");
      if ("default_payment_method" in b)
        invoice.default_payment_method =
          nullableStr(b.default_payment_method, "default_payment_method") ?? null;
      call.emu.emit("invoice.updated", invoice, { request: call.request, previous: before });
      return invoice;
    },
  },
  {
    method: "DELETE",
    path: "/v1/invoices/:id",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      if (invoice.status !== "draft")
        throw invalid("You can only delete draft invoices.", undefined, "invoice_not_editable");
      call.emu.state.remove("invoice", invoice.id);
      call.emu.emit("invoice.deleted", invoice, { request: call.request });
      return { id: invoice.id, object: "invoice", deleted: true };
    },
  },
  {
    method: "POST",
    path: "/v1/invoices/:id/finalize",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      finalizeInvoice(call.emu, invoice, call.request);
      return invoice;
    },
  },
  {
    method: "POST",
    path: "/v1/invoices/:id/pay",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      const b = paramsOf<Stripe.InvoicePayParams>(call);
      if (bool(b.paid_out_of_band, "paid_out_of_band")) {
        if (invoice.status !== "open") throw invalid("Invoice is not open");
        markInvoicePaid(call.emu, invoice, call.request);
        return invoice;
      }
      const paymentMethod = str(b.payment_method, "payment_method");
      if (paymentMethod) requireInvoiceCustomersMethod(call, invoice, paymentMethod);
      payInvoiceOrThrow(call.emu, invoice, call.request, paymentMethod);
      return invoice;
    },
  },
  { method: "POST", path: "/v1/invoices/:id/attach_payment", handler: attachPayment },
  {
    method: "POST",
    path: "/v1/invoices/:id/void",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      voidInvoice(call.emu, invoice, call.request);
      return invoice;
    },
  },
  {
    method: "POST",
    path: "/v1/invoices/:id/mark_uncollectible",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      if (invoice.status !== "open") throw invalid("You can only mark open invoices uncollectible.");
      const before = call.emu.state.render(invoice);
      invoice.status = "uncollectible";
      invoice.status_transitions.marked_uncollectible_at = nowFor(call.emu, invoice.test_clock);
      invoice.next_payment_attempt = null;
      call.emu.emit("invoice.marked_uncollectible", invoice, { request: call.request, previous: before });
      return invoice;
    },
  },
  {
    method: "GET",
    path: "/v1/invoices/:id/lines",
    handler: (call) => {
      const invoice = getInvoice(call, call.params.id!);
      const b = paramsOf<Stripe.InvoiceListLineItemsParams>(call);
      return paginate(invoice.lines.data, b, `/v1/invoices/${invoice.id}/lines`, (o) => structuredClone(o));
    },
  },
  {
    method: "GET",
    path: "/v1/invoices",
    handler: (call) => {
      const b = paramsOf<Stripe.InvoiceListParams>(call);
      const customer = str(b.customer, "customer");
      const subscription = str(b.subscription, "subscription");
      const status = str(b.status, "status");
      const rows = call.emu.state
        .all("invoice")
        .filter(
          (i) =>
            (!customer || i.customer === customer) &&
            (!subscription || i.parent?.subscription_details?.subscription === subscription) &&
            (!status || i.status === status),
        );
      return paginate(rows, b, "/v1/invoices", (o) => call.emu.state.render(o));
    },
  },
];
