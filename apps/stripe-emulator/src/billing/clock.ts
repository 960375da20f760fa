import type { Emulator } from "../context.ts";
import type { Stored } from "../state.ts";
import type { RequestMeta } from "../types.ts";
import { cancelSubscriptionNow, collectAutomatically, renewSubscription } from "./renewal.ts";
import { firstPhase, startSchedule, transitionSchedule } from "./schedules.ts";

const CLOCK: RequestMeta = { id: null, idempotency_key: null };
const INCOMPLETE_EXPIRY_SECONDS = 23 * 3600;
/** How long an advance works before it lets I/O (webhook deliveries, API calls) run. */
const ADVANCE_SLICE_MS = 10;

type Due = { at: number; order: number; run: () => void };

/** Stripe's list order (newest first) of the object a due item belongs to: ties run in it. */
type Rank = { created: number; seq: number };

/**
 * Earliest first; at the same instant by kind (`order`), then in the store's list order (newest
 * first: `State.all`), then in the order the candidates of one object are offered.
 */
function earlier(a: Due & Rank, b: Due & Rank): boolean {
  if (a.at !== b.at) return a.at < b.at;
  if (a.order !== b.order) return a.order < b.order;
  if (a.created !== b.created) return a.created > b.created;
  return a.seq > b.seq;
}

/**
 * What falls due first for objects on this clock up to `until`. One pass over the store, without
 * copying or sorting it (an advance calls this once per due item, so a sort or a per-subscription scan of
 * the items here made a storm of n renewals cost O(n²)–O(n³)).
 */
function nextDue(emu: Emulator, clockId: string, until: number): Due | null {
  const { state } = emu;
  let best: (Due & Rank) | null = null;
  const offer = (owner: { created?: number; _seq?: number }, at: number, order: number, run: () => void) => {
    const due = { at, order, run, created: owner.created ?? 0, seq: owner._seq ?? 0 };
    if (at <= until && (!best || earlier(due, best))) best = due;
  };
  for (const schedule of state.collection("subscription_schedule").values()) {
    if (schedule.test_clock !== clockId) continue;
    if (schedule.status === "not_started") {
      offer(schedule, firstPhase(schedule).start_date, 0, () => startSchedule(emu, schedule, CLOCK));
    } else if (schedule.status === "active" && schedule.current_phase) {
      const at = schedule.current_phase.end_date;
      offer(schedule, at, 0, () => transitionSchedule(emu, schedule, at));
    }
  }
  const periodEnds = currentPeriodEnds(emu);
  for (const sub of state.collection("subscription").values()) {
    if (sub.test_clock !== clockId) continue;
    if (sub.status === "canceled" || sub.status === "incomplete_expired") continue;
    if (sub.status === "incomplete") {
      offer(sub, sub.created + INCOMPLETE_EXPIRY_SECONDS, 1, () => expireIncomplete(emu, sub));
      continue;
    }
    if (sub.status === "trialing" && sub.trial_end && !sub._trial_will_end_sent) {
      const at = sub.trial_end - 3 * 86400;
      if (at >= sub.created) {
        offer(sub, at, 1, () => {
          sub._trial_will_end_sent = true;
          emu.emit("customer.subscription.trial_will_end", sub, { request: CLOCK });
        });
      }
    }
    if (sub.pending_update) {
      offer(sub, sub.pending_update.expires_at, 1, () => expirePendingUpdate(emu, sub));
    }
    const periodEnd = periodEnds.get(sub.id);
    if (periodEnd === undefined) continue;
    if (sub.cancel_at && sub.cancel_at <= until && sub.cancel_at <= periodEnd) {
      const at = sub.cancel_at;
      offer(sub, at, 1, () => cancelSubscriptionNow(emu, sub, at, CLOCK, "cancellation_requested"));
    } else {
      offer(sub, periodEnd, 2, () => renewSubscription(emu, sub, periodEnd));
    }
  }
  for (const invoice of state.collection("invoice").values()) {
    if (invoice.test_clock !== clockId || invoice.status !== "open" || !invoice.next_payment_attempt)
      continue;
    const at = invoice.next_payment_attempt;
    offer(invoice, at, 3, () => retry(emu, invoice, at));
  }
  return best;
}

/** Per subscription: the earliest `current_period_end` of its items (one pass over the items). */
function currentPeriodEnds(emu: Emulator): Map<string, number> {
  const ends = new Map<string, number>();
  for (const item of emu.state.collection("subscription_item").values()) {
    const end = ends.get(item.subscription);
    if (end === undefined || item.current_period_end < end)
      ends.set(item.subscription, item.current_period_end);
  }
  return ends;
}

function retry(emu: Emulator, invoice: Stored<"invoice">, at: number): void {
  invoice.next_payment_attempt = null;
  collectAutomatically(emu, invoice, at);
}

/** An unpaid pending_if_incomplete change is discarded when it expires (its invoice is voided). */
function expirePendingUpdate(emu: Emulator, sub: Stored<"subscription">): void {
  if (!sub.pending_update) return;
  const before = emu.state.render(sub);
  const at = sub.pending_update.expires_at;
  sub.pending_update = null;
  delete sub._pending_item_update;
  const invoice = sub.latest_invoice ? emu.state.get("invoice", sub.latest_invoice) : undefined;
  if (invoice?.status === "open") {
    invoice.status = "void";
    invoice.next_payment_attempt = null;
    invoice.status_transitions.voided_at = at;
    emu.emit("invoice.voided", invoice, { request: CLOCK });
  }
  emu.emit("customer.subscription.updated", sub, { request: CLOCK, previous: before });
}

function expireIncomplete(emu: Emulator, sub: Stored<"subscription">): void {
  const before = emu.state.render(sub);
  sub.status = "incomplete_expired";
  sub.ended_at = sub.created + INCOMPLETE_EXPIRY_SECONDS;
  const invoice = sub.latest_invoice ? emu.state.get("invoice", sub.latest_invoice) : undefined;
  if (invoice?.status === "open") {
    invoice.status = "void";
    invoice.status_transitions.voided_at = sub.ended_at;
  }
  emu.emit("customer.subscription.deleted", sub, { request: CLOCK, previous: before });
}

/**
 * Move a test clock to `target`, running renewals, dunning retries, schedule phase changes and
 * period-end cancellations in time order, each at its own moment (the clock's frozen_time is
 * set to that moment while it runs, so invoices and events carry the right timestamps).
 *
 * It yields to the event loop whenever it has worked for `sliceMs`: Stripe sends each
 * event as it is created (docs.stripe.com/webhooks: events are delivered as they happen, in no
 * guaranteed order), not when the clock is `ready`, which only says that "all test clock objects
 * have advanced to the frozen_time" (docs.stripe.com/api/test_clocks/object, `status`). So the
 * webhooks of a storm's first renewals go out, and API reads are answered, while its later
 * renewals are still being made. What is due is decided again after each yield, from the store
 * as it then is.
 */
export async function advanceClock(
  emu: Emulator,
  clock: Stored<"test_helpers.test_clock">,
  target: number,
  sliceMs = ADVANCE_SLICE_MS,
): Promise<void> {
  let due = nextDue(emu, clock.id, target);
  let sliceStart = performance.now();
  for (let guard = 0; due && guard < 10_000; guard++) {
    clock.frozen_time = Math.max(clock.frozen_time, due.at);
    due.run();
    due = nextDue(emu, clock.id, target);
    if (due && performance.now() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      // Deleted meanwhile (with its customers' objects): nothing is left to advance or announce.
      if (emu.state.get("test_helpers.test_clock", clock.id) !== clock) return;
      due = nextDue(emu, clock.id, target);
      sliceStart = performance.now();
    }
  }
  clock.frozen_time = target;
  clock.status = "ready";
  clock.status_details = {};
  emu.emit("test_helpers.test_clock.ready", clock, { request: CLOCK });
}
