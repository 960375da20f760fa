import {
  buildPriceParams,
  type LimioChangeOfferOrder,
  type Offer,
  type SwitchDirection,
  switchDirection,
  switchPlan,
} from "@bridge/domain";
import type Stripe from "stripe";
import {
  type ActionContext,
  type ActionResult,
  limioMetadata,
  linkedSubscription,
  loadOffer,
  OrderFailure,
} from "../context.ts";
import { currentPeriodEnd } from "./cancel-subscription.ts";

type PriceStep = { priceId: string; recurring: boolean; created: boolean };
type SwitchStepPlan = {
  fromOfferId: string;
  direction: SwitchDirection;
  items: { id: string; priceId: string; quantity: number }[];
  periodEnd: number;
  scheduleId: string | null;
};

/** The offer the subscription is on: the store's, else the Limio offer id stamped on its Stripe price. */
function currentOfferId(storeOfferId: string | null, sub: Stripe.Subscription): string | undefined {
  if (storeOfferId) return storeOfferId;
  for (const item of sub.items.data) {
    const id = item.price.metadata?.limio_offer_id;
    if (id) return id;
  }
  return sub.metadata?.limio_offer_id;
}

/**
 * `change_offer` (Order Switch), direction from the domain rule:
 * - upgrade → items swapped now, `always_invoice` (unused time credited, new price charged at once);
 * - same → swapped now, `proration_behavior: none`;
 * - downgrade → subscription schedule: the current phase to period end, then the lower price,
 *   `end_behavior: release`; nothing charged today.
 * An upgrade (or same) while a downgrade is pending releases that schedule first.
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
    const from: Offer = await loadOffer(ctx.db, fromId);
    const to: Offer = await loadOffer(ctx.db, order.offer.id);
    return {
      fromOfferId: from.id,
      direction: switchDirection(from, to),
      items: sub.items.data.map((item) => ({
        id: item.id,
        priceId: item.price.id,
        quantity: item.quantity ?? 1,
      })),
      periodEnd: currentPeriodEnd(sub),
      scheduleId: typeof sub.schedule === "string" ? sub.schedule : (sub.schedule?.id ?? null),
    };
  });
  const to: Offer = await loadOffer(ctx.db, order.offer.id);
  const direction = plan.direction;
  const timing = switchPlan(direction);
  const quantity = plan.items[0]?.quantity ?? 1;
  const scheduleId = plan.scheduleId;

  await step("product", (key) => ctx.lookups.ensureProduct(to, key, metadata));
  const prices: PriceStep[] = [];
  for (let i = 0; i < to.charges.length; i++) {
    prices.push(
      await step<PriceStep>(`price.${i}`, (key) =>
        ctx.lookups.resolvePrice(buildPriceParams(to, i), key, metadata),
      ),
    );
  }
  const recurring = prices.filter((p) => p.recurring);
  if (recurring.length === 0)
    throw new OrderFailure("unsupported_offer", `offer '${to.id}' has no recurring charge`, { stripe: ids });

  if (timing.timing === "immediate") {
    if (scheduleId) {
      await step("release-schedule", async (key) => {
        await stripe.subscriptionSchedules.release(scheduleId, {}, { idempotencyKey: key });
        return { scheduleId };
      });
    }
    const swap = await step<{ invoiceId: string | null; amountDue: number }>("swap", async (key) => {
      // The first recurring price replaces the first item; other old items go, other new prices are added.
      const [first, ...rest] = plan.items;
      const items: Stripe.SubscriptionUpdateParams.Item[] = [
        ...(first ? [{ id: first.id, price: recurring[0]!.priceId, quantity }] : []),
        ...rest.map((item) => ({ id: item.id, deleted: true as const })),
        ...recurring.slice(1).map((p) => ({ price: p.priceId, quantity })),
      ];
      const updated = await stripe.subscriptions.update(
        linked.stripeSubscriptionId,
        {
          items,
          proration_behavior: timing.proration_behavior,
          metadata: { ...metadata, limio_offer_id: to.id },
          expand: ["latest_invoice"],
        },
        { idempotencyKey: key },
      );
      const invoice = updated.latest_invoice as Stripe.Invoice | null;
      const fresh = timing.proration_behavior === "always_invoice" && invoice ? invoice : null;
      return { invoiceId: fresh?.id ?? null, amountDue: fresh?.amount_due ?? 0 };
    });
    return {
      status: "applied",
      action: direction === "upgrade" ? "upgraded" : "offer_swapped",
      stripe: { ...ids, ...(swap.invoiceId ? { invoiceId: swap.invoiceId } : {}) },
    };
  }

  // Downgrade: from the next period on, through a schedule (reusing one already attached).
  const schedule = await step<{ scheduleId: string; phaseStart: number }>("schedule", async (key) => {
    if (scheduleId) {
      const existing = await stripe.subscriptionSchedules.retrieve(scheduleId);
      return { scheduleId, phaseStart: existing.current_phase?.start_date ?? existing.phases[0]!.start_date };
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
  const periodEnd = plan.periodEnd;
  await step("schedule-phases", async (key) => {
    const newRecurring = to.charges.find((c) => c.type === "recurring");
    const price = buildPriceParams(to, to.charges.indexOf(newRecurring!));
    await stripe.subscriptionSchedules.update(
      schedule.scheduleId,
      {
        end_behavior: "release",
        phases: [
          {
            items: plan.items.map((item) => ({ price: item.priceId, quantity: item.quantity })),
            start_date: schedule.phaseStart,
            end_date: periodEnd,
            proration_behavior: "none",
            metadata,
          },
          {
            items: recurring.map((p) => ({ price: p.priceId, quantity })),
            duration: {
              interval: price.recurring!.interval,
              interval_count: price.recurring!.interval_count,
            },
            proration_behavior: "none",
            metadata: { ...metadata, limio_offer_id: to.id },
          },
        ],
        metadata,
      },
      { idempotencyKey: key },
    );
    return { scheduleId: schedule.scheduleId, switchAt: periodEnd };
  });
  return {
    status: "applied",
    action: "downgrade_scheduled",
    stripe: { ...ids, scheduleId: schedule.scheduleId },
  };
}
