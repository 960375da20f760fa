import type Stripe from "stripe";
import { itemsOf } from "../billing/items.ts";
import { cancelSubscriptionNow } from "../billing/renewal.ts";
import {
  applyPhaseItems,
  currentPhaseIndex,
  firstPhase,
  releaseSchedule,
  startSchedule,
} from "../billing/schedules.ts";
import { addIntervals, type Interval } from "../billing/time.ts";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { arr, int, mergeMetadata, metadata, oneOf, str } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { type Form, idOf } from "../types.ts";
import { getPrice, recurringOf } from "./prices.ts";
import { getSubscription } from "./subscription-plan.ts";

type Schedule = Stored<"subscription_schedule">;
type Phase = Stripe.SubscriptionSchedule.Phase;
/** A phase as create or update send it (update's also has `start_date`, which create's first phase gets from the schedule). */
type PhaseParams = Form<Stripe.SubscriptionScheduleUpdateParams.Phase>;

function getSchedule(call: Call, id: string): Schedule {
  const s = call.emu.state.get("subscription_schedule", id);
  if (!s) throw noSuch("subscription_schedule", id);
  return s;
}

function phaseObject(
  currency: string,
  start: number,
  end: number,
  items: Stripe.SubscriptionSchedule.Phase.Item[],
  prorationBehavior: Stripe.SubscriptionSchedule.Phase.ProrationBehavior,
  meta: Record<string, string>,
  billingCycleAnchor: Stripe.SubscriptionSchedule.Phase.BillingCycleAnchor | null = null,
  discounts: Stripe.SubscriptionSchedule.Phase.Discount[] = [],
): Phase {
  return {
    add_invoice_items: [],
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: billingCycleAnchor,
    billing_thresholds: null,
    collection_method: null,
    currency,
    default_payment_method: null,
    default_tax_rates: [],
    description: null,
    discounts,
    end_date: end,
    invoice_settings: null,
    items,
    metadata: meta,
    on_behalf_of: null,
    proration_behavior: prorationBehavior,
    start_date: start,
    transfer_data: null,
    trial_end: null,
  };
}

/** `billing_thresholds: null`: documented nullable (docs.stripe.com/api/subscription_schedules/object#subscription_schedule_object-phases-items-billing_thresholds); thresholds are not modelled. */
function phaseItem(
  price: { id: string },
  quantity: number,
  meta: Record<string, string> = {},
): Stripe.SubscriptionSchedule.Phase.Item {
  return {
    billing_thresholds: null,
    discounts: [],
    metadata: meta,
    plan: price.id,
    price: price.id,
    quantity,
    tax_rates: [],
  };
}

/**
 * A phase's `discounts` become the subscription's when the phase is entered; "If not specified,
 * inherits the discount from the subscription's customer"
 * (docs.stripe.com/api/subscription_schedules/update#update_subscription_schedule-phases-discounts),
 * so a subscription-level discount not listed is dropped there (billing/schedules.ts). Modelled:
 * `{ discount }` entries naming one of the subscription's discounts (kept as they are). Refused,
 * not modelled: `coupon` / `promotion_code` entries (a redemption at a later date), item-level
 * discounts, and a discounted phase entered inside a billing period with prorations (the
 * emulator does not prorate a discounted period).
 */
function phaseDiscounts(
  call: Call,
  schedule: Schedule,
  p: PhaseParams,
  i: number,
  start: number,
): Stripe.SubscriptionSchedule.Phase.Discount[] {
  arr(p.items).forEach((it, j) => {
    if (it?.discounts !== undefined)
      throw invalid(
        "The emulator does not model discounts on schedule phase items.",
        `phases[${i}][items][${j}][discounts]`,
      );
  });
  const sub = schedule.subscription ? call.emu.state.get("subscription", schedule.subscription) : undefined;
  const own = (sub?.discounts ?? []).map(idOf);
  type DiscountParam = { coupon?: string; discount?: string; promotion_code?: string };
  const entries: (DiscountParam | undefined)[] =
    (p.discounts as unknown) === "" ? [] : arr(p.discounts as DiscountParam[] | undefined);
  const out = entries.map((entry, j) => {
    const param = `phases[${i}][discounts][${j}]`;
    if (entry?.coupon !== undefined || entry?.promotion_code !== undefined)
      throw invalid(
        "The emulator models phase discounts that keep one of the subscription's discounts (`discount`) only.",
        `${param}[${entry?.coupon !== undefined ? "coupon" : "promotion_code"}]`,
      );
    const id = str(entry?.discount, `${param}[discount]`);
    if (!id || !own.includes(id)) throw noSuch("discount", String(id ?? ""), `${param}[discount]`);
    return { coupon: null, discount: id, promotion_code: null };
  });
  const periodEnd = sub ? itemsOf(call.emu, sub.id)[0]?.current_period_end : undefined;
  const prorates = (p.proration_behavior ?? "create_prorations") !== "none";
  const insidePeriod = periodEnd !== undefined && i > 0 && start !== periodEnd;
  if ((out.length > 0 || own.length > 0) && prorates && insidePeriod)
    throw invalid(
      "The emulator does not model prorating a discounted period: a discounted phase inside a billing period needs proration_behavior none.",
      `phases[${i}][proration_behavior]`,
    );
  return out;
}

function parsePhases(call: Call, schedule: Schedule, phasesIn: PhaseParams[]): Phase[] {
  const now = nowFor(call.emu, schedule.test_clock);
  if (phasesIn.length === 0) throw invalid("Missing required param: phases.", "phases", "parameter_missing");
  const current = schedule.current_phase;
  const out: Phase[] = [];
  let cursor: number | null = null;
  phasesIn.forEach((p, i) => {
    let start: number;
    if (p.start_date === "now") start = now;
    else if (p.start_date !== undefined) start = int(p.start_date, `phases[${i}][start_date]`)!;
    else if (cursor !== null) start = cursor;
    else if (current) start = current.start_date;
    else start = now;
    if (i === 0 && current && start !== current.start_date && schedule.status === "active") {
      throw invalid("You can not modify the start date of the current phase.", "phases[0][start_date]");
    }
    if (cursor !== null && start !== cursor) {
      throw invalid(
        "Phases must be contiguous: each phase's start_date must equal the previous phase's end_date.",
        `phases[${i}][start_date]`,
      );
    }
    const itemsIn = arr(p.items);
    if (itemsIn.length === 0)
      throw invalid(
        `Missing required param: phases[${i}][items].`,
        `phases[${i}][items]`,
        "parameter_missing",
      );
    // A phase's items become the subscription's items, whose prices must be recurring
    // (docs.stripe.com/api/subscriptions/create#create_subscription-items-price; one-time prices
    // go in `add_invoice_items`), and a phase without an end lasts one interval of its price
    // ("The interval of a price determines how often to bill", docs.stripe.com/billing/subscriptions/subscription-schedules#set-the-length-of-a-phase).
    const prices = itemsIn.map((it, j) => {
      const param = `phases[${i}][items][${j}][price]`;
      const price = getPrice(call, String(it.price), param);
      return {
        price,
        recurring: recurringOf(price, param),
        quantity: int(it.quantity, `phases[${i}][items][${j}][quantity]`) ?? 1,
        metadata: metadata(it.metadata),
      };
    });
    const recurring = prices[0]!.recurring;
    let end: number;
    if (p.end_date !== undefined) end = int(p.end_date, `phases[${i}][end_date]`)!;
    else if (p.duration) {
      end = addIntervals(
        start,
        oneOf(
          p.duration.interval,
          ["day", "week", "month", "year"],
          `phases[${i}][duration][interval]`,
        ) as Interval,
        int(p.duration.interval_count, `phases[${i}][duration][interval_count]`) ?? 1,
      );
    } else if ("iterations" in p) {
      throw invalid(
        "Received unknown parameter: phases[" + i + "][iterations]. Use duration instead.",
        `phases[${i}][iterations]`,
        "parameter_unknown",
      );
    } else {
      end = addIntervals(start, recurring.interval as Interval, recurring.interval_count);
    }
    if (end <= start)
      throw invalid("The phase end_date must be after its start_date.", `phases[${i}][end_date]`);
    // "Metadata on a schedule's phase will update the underlying subscription's metadata when the
    // phase is entered, adding new keys and replacing existing keys in the subscription's metadata.
    // Individual keys in the subscription's metadata can be unset by posting an empty value to
    // them in the phase's metadata" (docs.stripe.com/api/subscription_schedules/update#update_subscription_schedule-phases-metadata).
    // Entering a phase adds and replaces (billing/schedules.ts); unsetting is not modelled: refused.
    const unset = Object.entries((p.metadata ?? {}) as Record<string, unknown>).find(([, v]) => v === "");
    if (unset)
      throw invalid(
        "The emulator does not model unsetting subscription metadata from a phase.",
        `phases[${i}][metadata][${unset[0]}]`,
      );
    const discounts = phaseDiscounts(call, schedule, p, i, start);
    out.push(
      phaseObject(
        prices[0]!.price.currency,
        start,
        end,
        prices.map((x) => phaseItem(x.price, x.quantity, x.metadata)),
        oneOf(
          p.proration_behavior,
          ["always_invoice", "create_prorations", "none"],
          `phases[${i}][proration_behavior]`,
        ) ?? "create_prorations",
        metadata(p.metadata),
        // "automatic" (the default) or "phase_start": applied when the phase is entered (billing/schedules.ts).
        (oneOf(p.billing_cycle_anchor, ["automatic", "phase_start"], `phases[${i}][billing_cycle_anchor]`) as
          | Stripe.SubscriptionSchedule.Phase.BillingCycleAnchor
          | undefined) ?? null,
        discounts,
      ),
    );
    cursor = end;
  });
  return out;
}

function baseSchedule(
  call: Call,
  params: Form<Stripe.SubscriptionScheduleCreateParams>,
  customer: Stored<"customer">,
  now: number,
): Schedule {
  return {
    id: call.emu.state.newId("sub_sched"),
    object: "subscription_schedule",
    application: null,
    billing_mode: { type: "flexible", flexible: { proration_discounts: "included" }, updated_at: now },
    canceled_at: null,
    completed_at: null,
    created: now,
    current_phase: null,
    customer: customer.id,
    customer_account: null,
    default_settings: {
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: "automatic",
      billing_thresholds: null,
      collection_method: "charge_automatically",
      default_payment_method: null,
      description: null,
      invoice_settings: {
        account_tax_ids: null,
        custom_fields: null,
        days_until_due: null,
        description: null,
        footer: null,
        issuer: { type: "self" },
      },
      on_behalf_of: null,
      transfer_data: null,
    },
    end_behavior: oneOf(params.end_behavior, ["release", "cancel"], "end_behavior") ?? "release",
    livemode: false,
    metadata: metadata(params.metadata),
    phases: [],
    released_at: null,
    released_subscription: null,
    status: "not_started",
    subscription: null,
    test_clock: customer.test_clock ?? null,
  };
}

/** A schedule for a customer: phases start at `start_date` ('now' or a timestamp). */
function createFromPhases(call: Call, b: Form<Stripe.SubscriptionScheduleCreateParams>): Schedule {
  const emu = call.emu;
  const customerId = str(b.customer, "customer");
  if (!customerId) throw invalid("Missing required param: customer.", "customer", "parameter_missing");
  const customer = emu.state.get("customer", customerId);
  if (!customer || customer.deleted) throw noSuch("customer", customerId, "customer");
  const now = nowFor(emu, customer.test_clock);
  const start = b.start_date === undefined || b.start_date === "now" ? now : int(b.start_date, "start_date")!;
  const schedule = baseSchedule(call, b, customer, now);
  const phasesIn: PhaseParams[] = arr(b.phases);
  if (phasesIn[0] && phasesIn[0].start_date === undefined)
    phasesIn[0] = { ...phasesIn[0], start_date: String(start) };
  schedule.phases = parsePhases(call, schedule, phasesIn);
  const defaultPm = str(
    b.default_settings?.default_payment_method,
    "default_settings[default_payment_method]",
  );
  if (defaultPm) schedule.default_settings.default_payment_method = defaultPm;
  emu.state.insert("subscription_schedule", schedule);
  emu.emit("subscription_schedule.created", schedule, { request: call.request });
  if (firstPhase(schedule).start_date <= now) startSchedule(emu, schedule, call.request);
  return schedule;
}

export const subscriptionScheduleRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/subscription_schedules",
    handler: (call) => {
      const emu = call.emu;
      const b = paramsOf<Stripe.SubscriptionScheduleCreateParams>(call);
      const fromSub = str(b.from_subscription, "from_subscription");
      if (!fromSub) return createFromPhases(call, b);
      if (b.phases !== undefined) {
        throw invalid("You cannot set `phases` if `from_subscription` is set.", "phases");
      }
      const sub = getSubscription(call, fromSub, "from_subscription");
      if (sub.schedule) {
        throw invalid(
          `You cannot migrate a subscription that is already attached to a schedule: \`${sub.schedule}\`.`,
          "from_subscription",
        );
      }
      if (sub.status === "canceled")
        throw invalid("You cannot create a schedule from a canceled subscription.", "from_subscription");
      // Stripe documents neither the phases nor the end_behavior a schedule made from a subscription
      // with a pending cancellation gets (docs.stripe.com/api/subscription_schedules/create#create_subscription_schedule-from_subscription),
      // and a schedule-managed subscription takes no cancel_at: refused rather than guessed.
      if (sub.cancel_at !== null || sub.cancel_at_period_end)
        throw invalid(
          "The emulator does not model a schedule from a subscription that is set to cancel (cancel_at); clear it, then end the schedule with end_behavior cancel.",
          "from_subscription",
        );
      const customer = emu.state.get("customer", sub.customer)!;
      const now = nowFor(emu, sub.test_clock);
      const schedule = baseSchedule(call, b, customer, now);
      const items = itemsOf(emu, sub.id);
      const start = items[0]!.current_period_start;
      const end = items[0]!.current_period_end;
      schedule.phases = [
        phaseObject(
          sub.currency,
          start,
          end,
          items.map((i) => phaseItem(i.price, i.quantity ?? 1, i.metadata)),
          "create_prorations",
          {},
          null,
          // The subscription's discounts, as `{ discount }` entries (its current settings).
          sub.discounts.map((d) => ({ coupon: null, discount: idOf(d), promotion_code: null })),
        ),
      ];
      schedule.current_phase = { end_date: end, start_date: start };
      schedule.status = "active";
      schedule.subscription = sub.id;
      emu.state.insert("subscription_schedule", schedule);
      const subBefore = emu.state.render(sub);
      sub.schedule = schedule.id;
      emu.emit("subscription_schedule.created", schedule, { request: call.request });
      emu.emit("customer.subscription.updated", sub, { request: call.request, previous: subBefore });
      return schedule;
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_schedules/:id",
    handler: (call) => getSchedule(call, call.params.id!),
  },
  {
    method: "POST",
    path: "/v1/subscription_schedules/:id",
    handler: (call) => {
      const emu = call.emu;
      const schedule = getSchedule(call, call.params.id!);
      if (schedule.status !== "active" && schedule.status !== "not_started") {
        throw invalid(`You cannot update a subscription schedule that is ${schedule.status}.`);
      }
      const b = paramsOf<Stripe.SubscriptionScheduleUpdateParams>(call);
      const before = emu.state.render(schedule);
      if ("metadata" in b) schedule.metadata = mergeMetadata(schedule.metadata, b.metadata);
      if ("end_behavior" in b)
        schedule.end_behavior =
          oneOf(b.end_behavior, ["release", "cancel"], "end_behavior") ?? schedule.end_behavior;
      if (b.phases !== undefined) {
        const phases = parsePhases(call, schedule, arr(b.phases));
        schedule.phases = phases;
        const now = nowFor(emu, schedule.test_clock);
        const idx = currentPhaseIndex(schedule, now);
        const phase = idx >= 0 ? phases[idx] : undefined;
        schedule.current_phase = phase
          ? { end_date: phase.end_date, start_date: phase.start_date }
          : schedule.current_phase;
        const sub = schedule.subscription ? emu.state.get("subscription", schedule.subscription) : undefined;
        if (sub && phase) {
          const subBefore = emu.state.render(sub);
          applyPhaseItems(emu, sub, phase);
          if (JSON.stringify(subBefore) !== JSON.stringify(emu.state.render(sub))) {
            emu.emit("customer.subscription.updated", sub, { request: call.request, previous: subBefore });
          }
        }
      }
      emu.emit("subscription_schedule.updated", schedule, { request: call.request, previous: before });
      return schedule;
    },
  },
  {
    method: "POST",
    path: "/v1/subscription_schedules/:id/release",
    handler: (call) => {
      const schedule = getSchedule(call, call.params.id!);
      if (schedule.status !== "active" && schedule.status !== "not_started") {
        throw invalid(
          `You cannot release a subscription schedule that is currently in the \`${schedule.status}\` status.`,
        );
      }
      releaseSchedule(call.emu, schedule, nowFor(call.emu, schedule.test_clock), call.request);
      return schedule;
    },
  },
  {
    method: "POST",
    path: "/v1/subscription_schedules/:id/cancel",
    handler: (call) => {
      const emu = call.emu;
      const schedule = getSchedule(call, call.params.id!);
      if (schedule.status !== "active" && schedule.status !== "not_started") {
        throw invalid(
          `You cannot cancel a subscription schedule that is currently in the \`${schedule.status}\` status.`,
        );
      }
      const now = nowFor(emu, schedule.test_clock);
      const before = emu.state.render(schedule);
      const sub = schedule.subscription ? emu.state.get("subscription", schedule.subscription) : undefined;
      schedule.status = "canceled";
      schedule.canceled_at = now;
      schedule.current_phase = null;
      if (sub) {
        sub.schedule = null;
        if (sub.status !== "canceled")
          cancelSubscriptionNow(emu, sub, now, call.request, "cancellation_requested");
      }
      emu.emit("subscription_schedule.canceled", schedule, { request: call.request, previous: before });
      return schedule;
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_schedules",
    handler: (call) => {
      const b = paramsOf<Stripe.SubscriptionScheduleListParams>(call);
      const customer = str(b.customer, "customer");
      const rows = call.emu.state
        .all("subscription_schedule")
        .filter((s) => !customer || s.customer === customer);
      return paginate(rows, b, "/v1/subscription_schedules", (o) => call.emu.state.render(o));
    },
  },
];
