import { describe, expect, it } from "vitest";
import { DAY, invoice, T0 } from "../../test/stripe-builders.ts";
import {
  applyScheduleReconciliation,
  type PaymentSchedule,
  reconcileSchedules,
  scheduleFromInvoice,
  scheduleFromPreview,
  unixToIso,
} from "./payment-schedules.ts";

const iso = unixToIso;

describe("scheduleFromInvoice", () => {
  it("maps a paid invoice to a paid schedule dated when it was paid", () => {
    expect(scheduleFromInvoice(invoice())).toEqual({
      key: "invoice:in_1",
      stripeInvoiceId: "in_1",
      status: "paid",
      date: iso(T0 + 60),
      amount: 999,
      amountDecimal: "9.99",
      amountWithoutTax: 833,
      taxAmount: 166,
      currency: "GBP",
      periodStart: iso(T0),
      periodEnd: iso(T0 + 30 * DAY),
      description: "1 × Digital Monthly",
    });
    expect(scheduleFromInvoice(invoice({ status_transitions: null }))?.date).toBe(iso(T0));
  });

  it("maps open invoices to due (not attempted) or failed (attempted), uncollectible to failed", () => {
    const open = { status: "open" as const, amount_paid: 0, due_date: T0 + DAY };
    expect(scheduleFromInvoice(invoice({ ...open, attempt_count: 0 }))).toMatchObject({
      status: "due",
      amount: 999,
      date: iso(T0 + DAY),
    });
    expect(scheduleFromInvoice(invoice({ ...open, attempt_count: 2 }))).toMatchObject({ status: "failed" });
    expect(
      scheduleFromInvoice(
        invoice({ ...open, attempt_count: null, due_date: null, next_payment_attempt: T0 + 2 * DAY }),
      ),
    ).toMatchObject({ status: "due", date: iso(T0 + 2 * DAY) });
    expect(scheduleFromInvoice(invoice({ status: "uncollectible", due_date: null }))).toMatchObject({
      status: "failed",
      date: iso(T0),
    });
  });

  it("ignores drafts, voids and invoices without an id", () => {
    expect(scheduleFromInvoice(invoice({ status: "draft" }))).toBeNull();
    expect(scheduleFromInvoice(invoice({ status: "void" }))).toBeNull();
    expect(scheduleFromInvoice(invoice({ id: null }))).toBeNull();
  });

  it("copes with missing lines and tax breakdown", () => {
    expect(scheduleFromInvoice(invoice({ lines: null, total_excluding_tax: null }))).toMatchObject({
      periodStart: null,
      periodEnd: null,
      description: null,
      amountWithoutTax: null,
      taxAmount: null,
    });
  });
});

describe("scheduleFromPreview", () => {
  it("is keyed by subscription and service period, not by the preview's unstable id", () => {
    const preview = invoice({
      id: "upcoming_in_x",
      status: "draft",
      amount_paid: 0,
      next_payment_attempt: T0 + 30 * DAY,
      lines: { data: [{ amount: 999, period: { start: T0 + 30 * DAY, end: T0 + 60 * DAY } }] },
    });
    const s = scheduleFromPreview(preview, "sub_1");
    expect(s).toMatchObject({
      key: `upcoming:sub_1:${T0 + 30 * DAY}`,
      status: "scheduled",
      stripeInvoiceId: null,
      amount: 999,
      date: iso(T0 + 30 * DAY),
    });
    expect(scheduleFromPreview({ ...preview, id: "upcoming_in_y" }, "sub_1").key).toBe(s.key);
    expect(
      scheduleFromPreview(
        { ...preview, lines: null, period_end: T0 + 5, next_payment_attempt: null },
        "sub_1",
      ),
    ).toMatchObject({ key: `upcoming:sub_1:${T0 + 5}`, date: iso(T0) });
    expect(scheduleFromPreview({ ...preview, lines: null, period_end: undefined }, "sub_1").key).toBe(
      `upcoming:sub_1:${T0}`,
    );
  });
});

describe("reconcileSchedules", () => {
  const now = new Date((T0 + 10 * DAY) * 1000);
  const paid = scheduleFromInvoice(invoice())!;
  const upcoming = scheduleFromPreview(
    invoice({
      id: null,
      next_payment_attempt: T0 + 30 * DAY,
      lines: { data: [{ amount: 999, period: { start: T0 + 30 * DAY, end: T0 + 60 * DAY } }] },
    }),
    "sub_1",
  );
  const stored = (s: object): PaymentSchedule => ({ ...paid, id: "schedule-1", ...s }) as PaymentSchedule;

  it("creates what is new, keeps what is unchanged, updates what changed", () => {
    const r = reconcileSchedules([stored({})], [paid, upcoming], now);
    expect(r.create).toEqual([upcoming]);
    expect(r.keep.map((s) => s.key)).toEqual(["invoice:in_1"]);
    expect(r.update).toEqual([]);
    const changed = reconcileSchedules([stored({ status: "due" })], [paid], now);
    expect(changed.update).toEqual([
      { stored: stored({ status: "due" }), next: { ...paid, id: "schedule-1" } },
    ]);
  });

  it("cancels stored future schedules and stale predictions Stripe no longer has, keeps past history", () => {
    const futureDue = stored({ key: "invoice:in_9", status: "due", date: iso(T0 + 20 * DAY) });
    const pastPaid = stored({ key: "invoice:in_0", date: iso(T0 - 30 * DAY) });
    const oldPrediction = stored({ key: "upcoming:sub_1:123", status: "scheduled", date: iso(T0 - DAY) });
    const alreadyCancelled = stored({
      key: "upcoming:sub_1:1",
      status: "cancelled",
      date: iso(T0 + 20 * DAY),
    });
    const r = reconcileSchedules([futureDue, pastPaid, oldPrediction, alreadyCancelled], [], now);
    expect(r.cancel.map((s) => s.key)).toEqual(["invoice:in_9", "upcoming:sub_1:123"]);
    expect(r.keep.map((s) => s.key)).toEqual(["invoice:in_0", "upcoming:sub_1:1"]);
  });

  it("revives a cancelled schedule Stripe expects again, and ignores duplicate keys from Stripe", () => {
    const r = reconcileSchedules([stored({ status: "cancelled" })], [paid, { ...paid, amount: 1 }], now);
    expect(r.update).toHaveLength(1);
    expect(r.update[0]!.next.status).toBe("paid");
    expect(r.update[0]!.next.amount).toBe(999);
  });

  it("applies a reconciliation keeping stored order and appending new schedules", () => {
    const futureDue = stored({ key: "invoice:in_9", status: "due", date: iso(T0 + 20 * DAY) });
    const list = [futureDue, stored({ status: "due" })];
    const next = applyScheduleReconciliation(list, reconcileSchedules(list, [paid, upcoming], now));
    expect(next.map((s) => [s.key, s.status])).toEqual([
      ["invoice:in_9", "cancelled"],
      ["invoice:in_1", "paid"],
      [upcoming.key, "scheduled"],
    ]);
  });
});
