import { describe, expect, it } from "vitest";
import { type Offer, offerSchema } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import { refusalOf } from "./refusal.ts";
import {
  type CurrentItem,
  catalogSwitchDirection,
  listsOffer,
  planSwitch,
  switchTiming,
} from "./switch-plan.ts";

const offer = (id: string, value: string, unit: string, count = 1, extra: object = {}): Offer =>
  offerSchema.parse({
    id,
    name: `Offer ${id}`,
    stripeProductCode: "prod_Test01",
    term: { length: 1, type: "months" },
    charges: [
      { value, currencyCode: "GBP", type: "recurring", repeat_interval: count, repeat_interval_type: unit },
    ],
    ...extra,
  });
const monthly = offer("monthly", "9.99", "months");
const yearlyEqual = offer("yearly", "119.88", "years");
const quarterlyCheaper = offer("quarterly", "27.00", "months", 3);
const monthlyDearer = offer("premium", "14.99", "months");
const yearlyDearer = offer("yearly-plus", "150.00", "years");

const now = new Date("2026-12-16T12:00:00Z");
const periodEnd = new Date("2027-01-01T00:00:00Z");
const base: CurrentItem = {
  itemId: "si_base",
  priceId: "price_monthly",
  offerId: "monthly",
  quantity: 2,
  recurring: { interval: "month", interval_count: 1 },
};
/** An add-on item: another offer's price on the same subscription. */
const addOn: CurrentItem = {
  ...base,
  itemId: "si_addon",
  priceId: "price_puzzles",
  offerId: "puzzles",
  quantity: 1,
};
const plan = (to: Offer, extra: { from?: Offer; current?: CurrentItem[]; effectiveDate?: string } = {}) =>
  planSwitch({
    from: extra.from ?? monthly,
    to,
    current: extra.current ?? [base],
    effectiveDate: extra.effectiveDate,
    periodEnd,
    now,
  });
const unix = (d: Date | string) => Math.floor(new Date(d).getTime() / 1000);

describe("planSwitch: direction and timing", () => {
  it("an upgrade swaps now: new period from today, unused time credited, full new price charged, pending if unpaid", () => {
    const p = plan(monthlyDearer);
    expect(p.kind).toBe("immediate");
    if (p.kind !== "immediate") return;
    expect(p.direction).toBe("upgrade");
    expect(p.update).toEqual({
      items: [{ id: "si_base", price: { lookup_key: p.newPrices[0]!.price.lookup_key }, quantity: 2 }],
      proration_behavior: "always_invoice",
      billing_cycle_anchor: { type: "now" },
      payment_behavior: "pending_if_incomplete",
    });
    expect(p.appliedWhen).toBe("invoice_paid");
    expect(p.newPrices[0]!.price).toMatchObject({
      unit_amount: 1499,
      recurring: { interval: "month", interval_count: 1 },
    });
  });

  it("monthly 9.99 → yearly 119.88 is equal value: at the period end, nothing today, yearly from then", () => {
    const p = plan(yearlyEqual);
    expect(p.kind).toBe("scheduled");
    if (p.kind !== "scheduled") return;
    expect([p.direction, p.timing, p.switchAt]).toEqual(["same", "period_end", periodEnd]);
    expect(p.phases).toEqual([
      {
        items: [{ price: { existing: "price_monthly" }, quantity: 2 }],
        end_date: unix(periodEnd),
        proration_behavior: "none",
      },
      {
        items: [{ price: { lookup_key: p.newPrices[0]!.price.lookup_key }, quantity: 2 }],
        start_date: unix(periodEnd),
        billing_cycle_anchor: "phase_start",
        proration_behavior: "none",
        duration: { interval: "year", interval_count: 1 },
      },
    ]);
    expect(p.end_behavior).toBe("release");
  });

  it("a downgrade waits for the period end; an upgrade to another interval still happens now", () => {
    const down = plan(quarterlyCheaper);
    expect([down.kind, down.kind !== "no_change" && down.direction]).toEqual(["scheduled", "downgrade"]);
    const up = plan(yearlyDearer);
    expect([up.kind, up.kind !== "no_change" && up.direction]).toEqual(["immediate", "upgrade"]);
  });

  it("a republished offer: the direction compares what the subscription's items bill, not the offer's new price", () => {
    const target = offer("target", "12.99", "months");
    // Bought at 9.99 (the item bills 999), the offer now says 14.99: 12.99 is still an upgrade.
    const repricedUp = offer("monthly", "14.99", "months");
    const up = plan(target, { from: repricedUp, current: [{ ...base, unitAmount: 999 }] });
    expect([up.kind, up.kind !== "no_change" && up.direction]).toEqual(["immediate", "upgrade"]);
    // Bought at 14.99, the offer now says 9.99: 12.99 is a downgrade, nothing charged today.
    const repricedDown = offer("monthly", "9.99", "months");
    const down = plan(target, { from: repricedDown, current: [{ ...base, unitAmount: 1499 }] });
    expect([down.kind, down.kind !== "no_change" && down.direction]).toEqual(["scheduled", "downgrade"]);
    // A price without a unit amount (tiers): the offer's charges are compared, as before.
    const tiered = plan(target, { from: repricedUp, current: [{ ...base, unitAmount: null }] });
    expect(tiered.kind !== "no_change" && tiered.direction).toBe("downgrade");
  });

  it("a fixed term (cancel_at): the new phase ends at the term's end and the schedule cancels there", () => {
    const termEnd = new Date("2027-03-01T00:00:00Z");
    const cheaper = offer("cheaper", "4.99", "months");
    const p = planSwitch({ from: monthly, to: cheaper, current: [base], periodEnd, termEnd, now });
    expect(p.kind).toBe("scheduled");
    if (p.kind !== "scheduled") return;
    expect(p.end_behavior).toBe("cancel");
    expect(p.phases[1]).toMatchObject({ start_date: unix(periodEnd), end_date: unix(termEnd) });
    expect(p.phases[1]).not.toHaveProperty("duration");
    // Without a term the new offer runs one interval and the schedule releases the subscription.
    const open = plan(cheaper);
    expect(open.kind === "scheduled" && [open.end_behavior, "duration" in open.phases[1]]).toEqual([
      "release",
      true,
    ]);
    // Whole periods only, and only before the term ends.
    const refusedBy = (input: { to: Offer; termEnd: Date }) =>
      refusalOf(() => planSwitch({ from: monthly, current: [base], periodEnd, now, ...input }))?.path;
    expect(refusedBy({ to: quarterlyCheaper, termEnd })).toBe("offer.id");
    expect(refusedBy({ to: cheaper, termEnd: periodEnd })).toBe("effectiveDate");
  });

  it("the catalog's upgrade/downgrade lists decide the direction where they name the target", () => {
    const from = offer("monthly", "9.99", "months", 1, {
      upgrade_offers__limio: ["/offers2/Offer quarterly"],
    });
    expect(catalogSwitchDirection(from, quarterlyCheaper)).toMatchObject({
      direction: "upgrade",
      decidedBy: "catalog",
    });
    expect(plan(quarterlyCheaper, { from }).kind).toBe("immediate");
    const from2 = offer("monthly", "9.99", "months", 1, { downgrade_offers__limio: ["premium"] });
    expect(catalogSwitchDirection(from2, monthlyDearer)).toMatchObject({
      direction: "downgrade",
      decidedBy: "catalog",
    });
    expect(plan(monthlyDearer, { from: from2 }).kind).toBe("scheduled");
    expect(catalogSwitchDirection(monthly, monthlyDearer)).toMatchObject({
      direction: "upgrade",
      decidedBy: "value",
    });
  });

  it("effectiveDate decides the timing: today or earlier is now, the period end's day is the period end, else that date", () => {
    expect(plan(quarterlyCheaper, { effectiveDate: "2026-12-16" }).kind).toBe("immediate");
    expect(plan(quarterlyCheaper, { effectiveDate: "2026-11-01T00:00:00Z" }).kind).toBe("immediate");
    const atEnd = plan(monthlyDearer, { effectiveDate: "2027-01-01" });
    expect(
      atEnd.kind === "scheduled" && [atEnd.timing, atEnd.switchAt, atEnd.phases[1].proration_behavior],
    ).toEqual(["period_end", periodEnd, "none"]);
    const mid = plan(monthlyDearer, { effectiveDate: "2026-12-24T00:00:00Z" });
    expect(
      mid.kind === "scheduled" && [
        mid.timing,
        mid.phases[0].end_date,
        mid.phases[1].start_date,
        mid.phases[1].proration_behavior,
      ],
    ).toEqual(["date", unix("2026-12-24T00:00:00Z"), unix("2026-12-24T00:00:00Z"), "create_prorations"]);
    const afterEnd = plan(monthlyDearer, { effectiveDate: "2027-02-10" });
    // Past the period end the customer has paid the next period at the old price: credited too.
    expect(afterEnd.kind === "scheduled" && [afterEnd.timing, afterEnd.phases[1].proration_behavior]).toEqual(
      ["date", "create_prorations"],
    );
  });

  it("without effectiveDate, the target's switch_date__limio decides; unknown words are refused", () => {
    const immediate = offer("cheap", "5.00", "months", 1, { switch_date__limio: "immediate" });
    expect(plan(immediate).kind).toBe("immediate");
    const atRenewal = offer("dear", "20.00", "months", 1, { switch_date__limio: "next_billing_date" });
    expect(plan(atRenewal).kind).toBe("scheduled");
    const odd = offer("odd", "20.00", "months", 1, { switch_date__limio: "whenever" });
    expect(() => plan(odd)).toThrow(DomainRuleError);
    // effectiveDate wins over the offer's word.
    expect(plan(atRenewal, { effectiveDate: "2026-12-01" }).kind).toBe("immediate");
    expect(switchTiming({ direction: "downgrade", to: monthly, now, periodEnd })).toEqual({
      timing: "period_end",
      at: periodEnd,
    });
  });

  it("the same offer is no change", () => {
    expect(plan(monthly)).toEqual({
      kind: "no_change",
      reason: "the subscription is already on offer 'monthly'",
    });
  });
});

describe("planSwitch: quantities and add-ons", () => {
  it("keeps the base quantity on the new offer and leaves add-on items as they are", () => {
    const now_ = plan(monthlyDearer, { current: [base, addOn] });
    expect(now_.kind === "immediate" && now_.update.items).toEqual([
      { id: "si_base", price: { lookup_key: expect.any(String) }, quantity: 2 },
    ]);
    const later = plan(quarterlyCheaper, {
      current: [base, { ...addOn, recurring: { interval: "month", interval_count: 3 } }],
    });
    expect(later.kind === "scheduled" && later.phases[1].items).toEqual([
      { price: { lookup_key: expect.any(String) }, quantity: 2 },
      { price: { existing: "price_puzzles" }, quantity: 1 },
    ]);
  });

  it("refuses a switch that would leave an add-on at another interval, or remove items in a pending update", () => {
    const refused = (run: () => unknown) => refusalOf(run)?.path ?? "no refusal";
    expect(refused(() => plan(yearlyEqual, { current: [base, addOn] }))).toBe("offer.id");
    const twoItems: CurrentItem[] = [base, { ...base, itemId: "si_base2", priceId: "price_monthly_2" }];
    expect(refused(() => plan(monthlyDearer, { current: twoItems }))).toBe("offer.id");
    expect(refused(() => plan(monthlyDearer, { current: [addOn] }))).toBe("offer.id");
  });
});

describe("listsOffer", () => {
  it("matches Limio's lists by id, name or path", () => {
    expect(listsOffer(["monthly"], monthly)).toBe(true);
    expect(listsOffer(["Offer monthly"], monthly)).toBe(true);
    expect(listsOffer(["/offers2/Offer monthly"], monthly)).toBe(true);
    expect(listsOffer(["/offers2/Other"], monthly)).toBe(false);
    expect(listsOffer(undefined, monthly)).toBe(false);
  });
});
