import type Stripe from "stripe";
import type { Emulator } from "../context.ts";
import { createSubscription } from "../resources/subscription-create.ts";
import { updateSubscription } from "../resources/subscription-update.ts";
import type { Stored } from "../state.ts";
import { idOf, type RequestMeta } from "../types.ts";
import { itemsOf, newSubscriptionItem, setItemPrice } from "./items.ts";
import { cancelSubscriptionNow } from "./renewal.ts";

const CLOCK: RequestMeta = { id: null, idempotency_key: null };

type Schedule = Stored<"subscription_schedule">;
type Phase = Stripe.SubscriptionSchedule.Phase;

export function currentPhaseIndex(schedule: Schedule, at: number): number {
  return schedule.phases.findIndex((p) => p.start_date <= at && at < p.end_date);
}

/** A schedule's first phase (create and update refuse a schedule without phases). */
export function firstPhase(schedule: Schedule): Phase {
  const phase = schedule.phases[0];
  if (!phase) throw new Error(`schedule ${schedule.id} has no phases`);
  return phase;
}

/** Make the subscription's items match a phase's items (no prorations at a phase boundary). */
export function applyPhaseItems(emu: Emulator, sub: Stored<"subscription">, phase: Phase): void {
  const items = itemsOf(emu, sub.id);
  const start = items[0]?.current_period_start ?? phase.start_date;
  const end = items[0]?.current_period_end ?? phase.end_date;
  phase.items.forEach((phaseItem, i) => {
    const price = emu.state.get("price", idOf(phaseItem.price))!;
    const existing = items[i];
    if (existing) {
      if (existing.price.id !== price.id) setItemPrice(existing, price);
      existing.quantity = phaseItem.quantity;
    } else {
      newSubscriptionItem(emu, sub, price, phaseItem.quantity ?? 1, start, end, phaseItem.metadata ?? {});
    }
  });
  for (const extra of items.slice(phase.items.length)) emu.state.remove("subscription_item", extra.id);
}

export function releaseSchedule(emu: Emulator, schedule: Schedule, at: number, request: RequestMeta): void {
  const before = emu.state.render(schedule);
  const sub = schedule.subscription ? emu.state.get("subscription", schedule.subscription) : undefined;
  schedule.status = "released";
  schedule.released_at = at;
  schedule.released_subscription = schedule.subscription;
  schedule.subscription = null;
  schedule.current_phase = null;
  if (sub) {
    const subBefore = emu.state.render(sub);
    sub.schedule = null;
    emu.emit("customer.subscription.updated", sub, { request, previous: subBefore });
  }
  emu.emit("subscription_schedule.released", schedule, { request, previous: before });
}

/** A `not_started` schedule reaches its start: its first phase becomes a new subscription. */
export function startSchedule(emu: Emulator, schedule: Schedule, request: RequestMeta): void {
  const before = emu.state.render(schedule);
  const phase = firstPhase(schedule);
  const defaultPm = schedule.default_settings.default_payment_method;
  const sub = createSubscription({
    emu,
    params: {},
    apiKey: "",
    request,
    body: {
      customer: schedule.customer,
      items: phase.items.map((i) => ({
        price: idOf(i.price),
        quantity: String(i.quantity),
        metadata: i.metadata,
      })),
      metadata: phase.metadata,
      ...(defaultPm ? { default_payment_method: idOf(defaultPm) } : {}),
      payment_behavior: "allow_incomplete",
    },
  });
  sub.schedule = schedule.id;
  schedule.subscription = sub.id;
  schedule.status = "active";
  schedule.current_phase = { end_date: phase.end_date, start_date: phase.start_date };
  emu.emit("subscription_schedule.updated", schedule, { request, previous: before });
}

/**
 * Entering a phase inside a billing period: its items replace the subscription's as an update at
 * that moment would, with the phase's `proration_behavior` ("Controls whether the subscription
 * schedule should create prorations when transitioning to this phase",
 * docs.stripe.com/api/subscription_schedules/update#update_subscription_schedule-phases-proration_behavior)
 * and `billing_cycle_anchor: phase_start` resetting the anchor to the phase's start ("set the
 * anchor to the start of the phase", #update_subscription_schedule-phases-billing_cycle_anchor),
 * which bills a new period from then (docs.stripe.com/billing/subscriptions/billing-cycle#changing).
 * `automatic` keeps the anchor unless the interval changes, as an update does.
 */
function enterPhaseMidPeriod(emu: Emulator, sub: Stored<"subscription">, phase: Phase): void {
  const items = itemsOf(emu, sub.id);
  const body = {
    items: [
      ...phase.items.map((p, i) => ({
        ...(items[i] ? { id: items[i]!.id } : {}),
        price: idOf(p.price),
        quantity: String(p.quantity ?? 1),
      })),
      ...items.slice(phase.items.length).map((extra) => ({ id: extra.id, deleted: "true" })),
    ],
    proration_behavior: phase.proration_behavior,
    ...(phase.billing_cycle_anchor === "phase_start" ? { billing_cycle_anchor: { type: "now" } } : {}),
    payment_behavior: "allow_incomplete",
    metadata: phase.metadata,
  };
  updateSubscription({ emu, params: { id: sub.id }, body, request: CLOCK, apiKey: "" });
}

/**
 * The entered phase's discounts become the subscription's: those it lists are kept, the others
 * leave it ("If not specified, inherits the discount from the subscription's customer",
 * docs.stripe.com/api/subscription_schedules/update#update_subscription_schedule-phases-discounts).
 */
function applyPhaseDiscounts(emu: Emulator, sub: Stored<"subscription">, phase: Phase): void {
  const kept = phase.discounts.flatMap((d) => (d.discount ? [idOf(d.discount)] : []));
  for (const ref of sub.discounts) {
    const id = idOf(ref);
    const dropped = emu.state.get("discount", id);
    if (!kept.includes(id) && dropped) emu.emit("customer.discount.deleted", dropped, { request: CLOCK });
  }
  sub.discounts = kept;
}

/** At a phase's end date: switch to the next phase, or apply the end behavior. */
export function transitionSchedule(emu: Emulator, schedule: Schedule, at: number): void {
  const before = emu.state.render(schedule);
  const sub = schedule.subscription ? emu.state.get("subscription", schedule.subscription) : undefined;
  const phase = schedule.phases[currentPhaseIndex(schedule, at)];
  if (phase && sub) {
    schedule.current_phase = { end_date: phase.end_date, start_date: phase.start_date };
    const periodEnd = itemsOf(emu, sub.id)[0]?.current_period_end;
    if (periodEnd !== undefined && at < periodEnd) {
      // Discounts first: the update's invoice is billed with the phase's (parsePhases refused
      // prorating a discounted period).
      applyPhaseDiscounts(emu, sub, phase);
      enterPhaseMidPeriod(emu, sub, phase);
    } else {
      // At the period end: the renewal that follows bills the new items; nothing to prorate and
      // the anchor is the phase's start either way.
      const subBefore = emu.state.render(sub);
      applyPhaseItems(emu, sub, phase);
      // Phase metadata adds and replaces keys of the subscription's when the phase is entered
      // (docs.stripe.com/api/subscription_schedules/update#update_subscription_schedule-phases-metadata).
      sub.metadata = { ...sub.metadata, ...phase.metadata };
      applyPhaseDiscounts(emu, sub, phase);
      emu.emit("customer.subscription.updated", sub, { request: CLOCK, previous: subBefore });
    }
    emu.emit("subscription_schedule.updated", schedule, { request: CLOCK, previous: before });
    return;
  }
  if (schedule.end_behavior === "cancel" && sub) {
    schedule.status = "completed";
    schedule.completed_at = at;
    schedule.current_phase = null;
    sub.schedule = null;
    cancelSubscriptionNow(emu, sub, at, CLOCK, null);
    emu.emit("subscription_schedule.completed", schedule, { request: CLOCK, previous: before });
    return;
  }
  releaseSchedule(emu, schedule, at, CLOCK);
}
