import type { Emulator } from "../context.ts";
import type { Stored } from "../state.ts";
import type { RequestMeta, StripeObject } from "../types.ts";
import { itemsOf } from "./items.ts";
import { cancelSubscriptionNow, collectAutomatically, renewSubscription } from "./renewal.ts";
import { firstPhase, startSchedule, transitionSchedule } from "./schedules.ts";

const CLOCK: RequestMeta = { id: null, idempotency_key: null };
const INCOMPLETE_EXPIRY_SECONDS = 23 * 3600;

type Due = { at: number; order: number; run: () => void };

/** Everything that falls due for objects on this clock up to `until`, earliest first. */
function nextDue(emu: Emulator, clockId: string, until: number): Due | null {
  const { state } = emu;
  const due: Due[] = [];
  for (const schedule of state.all("subscription_schedule")) {
    if (schedule.test_clock === clockId && schedule.status === "not_started") {
      const at = firstPhase(schedule).start_date;
      if (at <= until) due.push({ at, order: 0, run: () => startSchedule(emu, schedule, CLOCK) });
      continue;
    }
    if (schedule.test_clock !== clockId || schedule.status !== "active" || !schedule.current_phase) continue;
    const at = schedule.current_phase.end_date;
    if (at <= until) due.push({ at, order: 0, run: () => transitionSchedule(emu, schedule, at) });
  }
  for (const sub of state.all("subscription")) {
    if (sub.test_clock !== clockId) continue;
    if (sub.status === "canceled" || sub.status === "incomplete_expired") continue;
    if (sub.status === "incomplete") {
      const at = sub.created + INCOMPLETE_EXPIRY_SECONDS;
      if (at <= until) due.push({ at, order: 1, run: () => expireIncomplete(emu, sub) });
      continue;
    }
    if (sub.status === "trialing" && sub.trial_end && !sub._trial_will_end_sent) {
      const at = sub.trial_end - 3 * 86400;
      if (at >= sub.created && at <= until) {
        due.push({
          at,
          order: 1,
          run: () => {
            sub._trial_will_end_sent = true;
            emu.emit("customer.subscription.trial_will_end", sub, { request: CLOCK });
          },
        });
      }
    }
    if (sub.pending_update && sub.pending_update.expires_at <= until) {
      const at = sub.pending_update.expires_at;
      due.push({ at, order: 1, run: () => expirePendingUpdate(emu, sub) });
    }
    const items = itemsOf(emu, sub.id);
    if (items.length === 0) continue;
    const periodEnd = Math.min(...items.map((i) => i.current_period_end));
    if (sub.cancel_at && sub.cancel_at <= until && sub.cancel_at <= periodEnd) {
      const at = sub.cancel_at;
      due.push({
        at,
        order: 1,
        run: () => cancelSubscriptionNow(emu, sub, at, CLOCK, "cancellation_requested"),
      });
    } else if (periodEnd <= until) {
      due.push({ at: periodEnd, order: 2, run: () => renewSubscription(emu, sub, periodEnd) });
    }
  }
  for (const invoice of state.all("invoice")) {
    if (invoice.test_clock !== clockId || invoice.status !== "open" || !invoice.next_payment_attempt)
      continue;
    const at = invoice.next_payment_attempt;
    if (at <= until) due.push({ at, order: 3, run: () => retry(emu, invoice, at) });
  }
  due.sort((a, b) => a.at - b.at || a.order - b.order);
  return due[0] ?? null;
}

function retry(emu: Emulator, invoice: Stored<"invoice">, at: number): void {
  invoice.next_payment_attempt = null;
  collectAutomatically(emu, invoice, at);
}

/** An unpaid pending_if_incomplete change is discarded when it expires (its invoice is voided). */
function expirePendingUpdate(emu: Emulator, sub: StripeObject): void {
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

function expireIncomplete(emu: Emulator, sub: StripeObject): void {
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
 */
export function advanceClock(emu: Emulator, clock: Stored<"test_helpers.test_clock">, target: number): void {
  for (let guard = 0; guard < 10_000; guard++) {
    const due = nextDue(emu, clock.id, target);
    if (!due) break;
    clock.frozen_time = Math.max(clock.frozen_time, due.at);
    due.run();
  }
  clock.frozen_time = target;
  clock.status = "ready";
  clock.status_details = {};
  emu.emit("test_helpers.test_clock.ready", clock, { request: CLOCK });
}
