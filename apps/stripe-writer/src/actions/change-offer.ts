import {
  currentItems,
  currentOfferId,
  currentPeriodEnd,
  LIMIO_AUTO_RENEW,
  type LimioChangeOfferOrder,
  type Offer,
  offerTermMetadata,
  planSwitch,
  type SwitchPlanned,
} from "@bridge/domain";
import { stripeNow } from "@bridge/stripe-client";
import type Stripe from "stripe";
import {
  type ActionContext,
  type ActionResult,
  limioMetadata,
  linkedSubscription,
  loadOffer,
  OrderFailure,
} from "../context.ts";

/** The plan as recorded (JSON): dates as unix seconds. */
type RecordedPlan = Exclude<SwitchPlanned, { kind: "scheduled" }> | RecordedSchedule;
type RecordedSchedule = Omit<Extract<SwitchPlanned, { kind: "scheduled" }>, "switchAt"> & {
  switchAt: number;
};
type SwitchStepPlan = {
  fromOfferId: string;
  scheduleId: string | null;
  planned: RecordedPlan;
  /** A fixed term's end (unix seconds): the subscription's `cancel_at`, or the end an attached schedule cancels at. */
  termEnd?: number | null;
  /** Where that end is kept now: `cancel_at` (cleared before a schedule takes it over) or the schedule. */
  termEndOn?: "cancel_at" | "schedule" | null;
  /** The subscription's discounts: a schedule's phases must list them, or Stripe drops them. */
  discountIds?: string[];
};
type PriceStep = { priceId: string };

/**
 * `change_offer` (Order Switch) executes the domain's planSwitch (docs/decisions/015):
 * - now (upgrade by default): the billing period restarts today, unused time is credited and the
 *   full new price invoiced at once, as a Stripe pending update (`pending_if_incomplete`). The
 *   order is `upgraded` only when Stripe shows the invoice paid and the new items applied; a
 *   declined payment fails the order with the decline code, the subscription stays on the old
 *   offer and the unpaid invoice is voided (the pending update then expires at its `expires_at`);
 * - later (downgrade, equal value, interval change, or a date): a subscription schedule, the
 *   current items until the switch, then the new ones; nothing charged today. On a fixed term
 *   (`cancel_at`) the schedule takes the term's end over: its last phase ends there and it
 *   cancels the subscription (decision 015).
 * A switch now while a schedule is attached releases that schedule once the upgrade is paid, so a
 * declined upgrade leaves an earlier scheduled switch in place.
 */
export async function changeOffer(ctx: ActionContext): Promise<ActionResult> {
  const order = ctx.order as LimioChangeOfferOrder;
  const { stripe, step } = ctx;
  const linked = await linkedSubscription(ctx);
  const ids = { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId };
  const metadata = limioMetadata(ctx);
  // The plan is recorded before any write, so a resumed order sends byte-identical params (same
  // idempotency keys, same parameters) even though Stripe's subscription has changed meanwhile.
  const plan = await step<SwitchStepPlan>("plan", async () => {
    const sub = await stripe.subscriptions.retrieve(linked.stripeSubscriptionId);
    const fromId = currentOfferId(linked.offerId, sub);
    if (!fromId)
      throw new OrderFailure("offer_not_found", `cannot tell which offer ${linked.id} is on`, {
        stripe: ids,
      });
    // The version the subscriber is on, not the offer's current one (decision 022): its lists
    // decide the direction; planSwitch compares value against the prices Stripe bills.
    const fromVersion = fromId === linked.offerId ? (linked.offerVersion ?? undefined) : undefined;
    const scheduleId = typeof sub.schedule === "string" ? sub.schedule : (sub.schedule?.id ?? null);
    // A fixed term's end is `cancel_at`, or, once a switch is scheduled, the schedule's last phase
    // end with end_behavior cancel (a schedule-managed subscription takes no cancel_at).
    const attached = scheduleId ? await stripe.subscriptionSchedules.retrieve(scheduleId) : null;
    const scheduleEnd =
      attached?.end_behavior === "cancel" ? (attached.phases.at(-1)?.end_date ?? null) : null;
    const termEnd = sub.cancel_at ?? scheduleEnd;
    const termEndOn = sub.cancel_at ? "cancel_at" : scheduleEnd ? "schedule" : null;
    const planned = planSwitch({
      from: await loadOffer(ctx.db, { id: fromId, version: fromVersion }),
      to: await loadOffer(ctx.db, order.offer),
      current: currentItems(sub),
      effectiveDate: order.effectiveDate,
      periodEnd: new Date(currentPeriodEnd(sub) * 1000),
      termEnd: termEnd ? new Date(termEnd * 1000) : undefined,
      now: await stripeNow(stripe, sub),
    });
    return {
      fromOfferId: fromId,
      scheduleId,
      termEnd,
      termEndOn,
      discountIds: (sub.discounts ?? []).map((d) => (typeof d === "string" ? d : d.id)),
      planned:
        planned.kind === "scheduled"
          ? { ...planned, switchAt: Math.floor(planned.switchAt.getTime() / 1000) }
          : planned,
    };
  });
  const planned = plan.planned;
  if (planned.kind === "no_change") return { status: "applied", action: "none", stripe: ids };

  const to: Offer = await loadOffer(ctx.db, order.offer);
  await step("product", (key) => ctx.lookups.ensureProduct(to, key, metadata));
  const priceIds = new Map<string, string>();
  for (const { chargeIndex, price } of planned.newPrices) {
    const resolved = await step<PriceStep>(`price.${chargeIndex}`, (key) =>
      ctx.lookups.resolvePrice(price, key, metadata),
    );
    priceIds.set(price.lookup_key, resolved.priceId);
  }
  const priceOf = (p: { lookup_key: string } | { existing: string }) =>
    "existing" in p ? p.existing : priceIds.get(p.lookup_key)!;

  if (planned.kind === "immediate") {
    // Only the attributes Stripe's pending updates accept (no metadata: stamped once paid).
    const swap = await step<{ invoiceId: string | null }>("swap", async (key) => {
      const updated = await stripe.subscriptions.update(
        linked.stripeSubscriptionId,
        {
          items: planned.update.items.map((item) => ({ ...item, price: priceOf(item.price) })),
          proration_behavior: planned.update.proration_behavior,
          billing_cycle_anchor: planned.update.billing_cycle_anchor,
          payment_behavior: planned.update.payment_behavior,
        } as Stripe.SubscriptionUpdateParams,
        { idempotencyKey: key },
      );
      const invoice = updated.latest_invoice;
      return { invoiceId: typeof invoice === "string" ? invoice : (invoice?.id ?? null) };
    });
    const withInvoice = { ...ids, ...(swap.invoiceId ? { invoiceId: swap.invoiceId } : {}) };
    // Applied only when Stripe's state proves it: the invoice paid and no update left pending.
    const settled = await step<{ paid: boolean; declineCode: string | null; message: string | null }>(
      "settled",
      async () => {
        const sub = await stripe.subscriptions.retrieve(linked.stripeSubscriptionId);
        const invoice = swap.invoiceId ? await stripe.invoices.retrieve(swap.invoiceId) : null;
        const newPrices = new Set(priceIds.values());
        const applied = sub.items.data.some((item) => newPrices.has(item.price.id));
        if (invoice?.status === "paid" && !sub.pending_update && applied) {
          return { paid: true, declineCode: null, message: null };
        }
        return { paid: false, ...(invoice ? await declineOf(stripe, invoice.id) : noDecline) };
      },
    );
    if (!settled.paid) {
      if (swap.invoiceId) {
        const invoiceId = swap.invoiceId;
        // The customer is not charged later for an upgrade the order reports as failed.
        await step("void-invoice", async (key) => {
          const invoice = await stripe.invoices.retrieve(invoiceId);
          if (invoice.status === "open")
            await stripe.invoices.voidInvoice(invoiceId, {}, { idempotencyKey: key });
          return { invoiceId };
        });
      }
      throw new OrderFailure(
        "payment_failed",
        settled.message ?? `the upgrade's invoice ${swap.invoiceId ?? "(none)"} was not paid`,
        { ...(settled.declineCode ? { stripeCode: settled.declineCode } : {}), stripe: withInvoice },
      );
    }
    // A schedule attached (an earlier downgrade) is released only now the upgrade is paid: a
    // declined upgrade leaves it, and the switch it schedules, in place. Stripe lets a
    // schedule-managed subscription's items be updated (only its cancellation is refused).
    const scheduleId = plan.scheduleId;
    if (scheduleId) {
      await step("release-schedule", async (key) => {
        await stripe.subscriptionSchedules.release(scheduleId, {}, { idempotencyKey: key });
        return { scheduleId };
      });
      const termEnd = plan.termEnd;
      if (plan.termEndOn === "schedule" && termEnd) {
        // The released schedule carried the fixed term's end: it goes back on the subscription,
        // as set at creation (no proration).
        await step("restore-term-end", async (key) => {
          await stripe.subscriptions.update(
            linked.stripeSubscriptionId,
            { cancel_at: termEnd, proration_behavior: "none" },
            { idempotencyKey: key },
          );
          return { cancelAt: termEnd };
        });
      }
    }
    await step("metadata", async (key) => {
      await stripe.subscriptions.update(
        linked.stripeSubscriptionId,
        { metadata: { ...metadata, limio_offer_id: to.id, ...offerTermMetadata(to) } },
        { idempotencyKey: key },
      );
      return { offerId: to.id };
    });
    return { status: "applied", action: "upgraded", stripe: withInvoice };
  }

  // Later: through a schedule (reusing one already attached).
  if (plan.termEndOn === "cancel_at" && !plan.scheduleId) {
    // A schedule ends a fixed term itself (its last phase, end_behavior cancel): Stripe refuses
    // cancel_at on a schedule-managed subscription, and does not document what from_subscription
    // makes of one, so the end moves from cancel_at to the schedule (the next step sets it).
    await step("clear-cancel-at", async (key) => {
      await stripe.subscriptions.update(
        linked.stripeSubscriptionId,
        { cancel_at: "" },
        { idempotencyKey: key },
      );
      return { cancelAt: plan.termEnd ?? null };
    });
  }
  const schedule = await step<{ scheduleId: string; phaseStart: number }>("schedule", async (key) => {
    if (plan.scheduleId) {
      const existing = await stripe.subscriptionSchedules.retrieve(plan.scheduleId);
      return {
        scheduleId: plan.scheduleId,
        phaseStart: existing.current_phase?.start_date ?? existing.phases[0]!.start_date,
      };
    }
    const created = await stripe.subscriptionSchedules.create(
      { from_subscription: linked.stripeSubscriptionId },
      { idempotencyKey: key },
    );
    return {
      scheduleId: created.id,
      phaseStart: created.current_phase?.start_date ?? created.phases[0]!.start_date,
    };
  });
  const [current, next] = planned.phases;
  // A phase without `discounts` "inherits the discount from the subscription's customer": the
  // subscription's own discounts would end when it starts, so both phases keep them by id.
  const discounts = plan.discountIds?.length
    ? { discounts: plan.discountIds.map((discount) => ({ discount })) }
    : {};
  const items = (phaseItems: typeof current.items) =>
    phaseItems.map((i) => ({ price: priceOf(i.price), quantity: i.quantity }));
  await step("schedule-phases", async (key) => {
    await stripe.subscriptionSchedules.update(
      schedule.scheduleId,
      {
        end_behavior: planned.end_behavior,
        phases: [
          {
            ...current,
            items: items(current.items),
            start_date: schedule.phaseStart,
            metadata,
            ...discounts,
          },
          {
            ...next,
            items: items(next.items),
            ...discounts,
            metadata: {
              ...metadata,
              limio_offer_id: to.id,
              ...offerTermMetadata(to),
              // The fixed term still ends where it did, whatever the new offer's own auto-renew.
              ...(planned.end_behavior === "cancel" ? { [LIMIO_AUTO_RENEW]: "false" } : {}),
            },
          },
        ],
        metadata,
      },
      { idempotencyKey: key },
    );
    return { scheduleId: schedule.scheduleId, switchAt: planned.switchAt };
  });
  return {
    status: "applied",
    action: "downgrade_scheduled",
    stripe: { ...ids, scheduleId: schedule.scheduleId },
  };
}

const noDecline = { declineCode: null, message: null };

/** Why the invoice's payment failed: the decline code on its latest PaymentIntent (invoice payments). */
async function declineOf(
  stripe: Stripe,
  invoiceId: string,
): Promise<{ declineCode: string | null; message: string | null }> {
  const payments = await stripe.invoicePayments.list({ invoice: invoiceId, limit: 10 });
  for (const payment of payments.data) {
    const pi = payment.payment.payment_intent;
    const piId = typeof pi === "string" ? pi : pi?.id;
    if (!piId) continue;
    const intent = await stripe.paymentIntents.retrieve(piId);
    const error = intent.last_payment_error;
    if (error)
      return { declineCode: error.decline_code ?? error.code ?? null, message: error.message ?? null };
  }
  return noDecline;
}
