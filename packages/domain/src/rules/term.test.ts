import { describe, expect, it } from "vitest";
import { addUnits, limioTerm, parseSpan, spanInMonths, wholeMultiple } from "./term.ts";

const d = (iso: string) => new Date(iso);
const iso = (date: Date) => date.toISOString();

describe("addUnits", () => {
  it("adds days and weeks as exact durations", () => {
    expect(iso(addUnits(d("2026-01-31T10:00:00Z"), 14, "days"))).toBe("2026-02-14T10:00:00.000Z");
    expect(iso(addUnits(d("2026-01-31T10:00:00Z"), 2, "weeks"))).toBe("2026-02-14T10:00:00.000Z");
  });

  it("adds months from the anchor, clamping to the month's last day as Stripe does", () => {
    const jan31 = d("2026-01-31T09:30:00Z");
    expect(iso(addUnits(jan31, 1, "months"))).toBe("2026-02-28T09:30:00.000Z");
    expect(iso(addUnits(jan31, 2, "months"))).toBe("2026-03-31T09:30:00.000Z");
    expect(iso(addUnits(d("2027-01-31T00:00:00Z"), 13, "months"))).toBe("2028-02-29T00:00:00.000Z");
    expect(iso(addUnits(d("2026-11-15T00:00:00Z"), 3, "months"))).toBe("2027-02-15T00:00:00.000Z");
  });

  it("adds years as twelve months (29 February → 28 February)", () => {
    expect(iso(addUnits(d("2028-02-29T12:00:00Z"), 1, "years"))).toBe("2029-02-28T12:00:00.000Z");
    expect(iso(addUnits(d("2028-02-29T12:00:00Z"), 4, "years"))).toBe("2032-02-29T12:00:00.000Z");
  });
});

describe("wholeMultiple and spanInMonths", () => {
  it("says how many billing periods make a term, when they line up", () => {
    expect(wholeMultiple({ length: 12, type: "months" }, { length: 1, type: "months" })).toBe(12);
    expect(wholeMultiple({ length: 1, type: "years" }, { length: 3, type: "months" })).toBe(4);
    expect(wholeMultiple({ length: 2, type: "weeks" }, { length: 7, type: "days" })).toBe(2);
    expect(wholeMultiple({ length: 1, type: "years" }, { length: 5, type: "months" })).toBeUndefined();
    expect(wholeMultiple({ length: 1, type: "months" }, { length: 1, type: "weeks" })).toBeUndefined();
    expect(spanInMonths({ length: 2, type: "years" })).toBe(24);
    expect(spanInMonths({ length: 2, type: "weeks" })).toBeUndefined();
  });
});

describe("limioTerm", () => {
  const start = d("2026-01-31T09:00:00Z");
  const twelveMonths = { length: 12, type: "months" } as const;

  it("a 12-month term billed monthly runs 12 months, whatever the billing", () => {
    const t = limioTerm({ start, term: twelveMonths, now: d("2026-03-15T00:00:00Z") });
    expect([iso(t.termStart), iso(t.termEnd), t.renewals]).toEqual([
      "2026-01-31T09:00:00.000Z",
      "2027-01-31T09:00:00.000Z",
      0,
    ]);
  });

  it("rolls over at the term end, exactly at it and after", () => {
    const atEnd = limioTerm({ start, term: twelveMonths, now: d("2027-01-31T09:00:00Z") });
    expect([iso(atEnd.termStart), iso(atEnd.termEnd), atEnd.renewals]).toEqual([
      "2027-01-31T09:00:00.000Z",
      "2028-01-31T09:00:00.000Z",
      1,
    ]);
    const justBefore = limioTerm({ start, term: twelveMonths, now: d("2027-01-31T08:59:59Z") });
    expect(justBefore.renewals).toBe(0);
    const later = limioTerm({ start, term: twelveMonths, now: d("2031-06-01T00:00:00Z") });
    expect([iso(later.termStart), later.renewals]).toEqual(["2031-01-31T09:00:00.000Z", 5]);
  });

  it("keeps month-end anchors across many short terms", () => {
    const t = limioTerm({ start, term: { length: 1, type: "months" }, now: d("2026-05-01T00:00:00Z") });
    expect([iso(t.termStart), iso(t.termEnd), t.renewals]).toEqual([
      "2026-04-30T09:00:00.000Z",
      "2026-05-31T09:00:00.000Z",
      3,
    ]);
  });

  it("before billing starts (a future start), the first term is the one ahead", () => {
    const t = limioTerm({ start, term: twelveMonths, now: d("2025-12-01T00:00:00Z") });
    expect([iso(t.termStart), t.renewals]).toEqual(["2026-01-31T09:00:00.000Z", 0]);
  });

  it("a fixed term never rolls over", () => {
    const t = limioTerm({ start, term: twelveMonths, now: d("2029-01-01T00:00:00Z"), autoRenew: false });
    expect([iso(t.termStart), iso(t.termEnd), t.renewals]).toEqual([
      "2026-01-31T09:00:00.000Z",
      "2027-01-31T09:00:00.000Z",
      0,
    ]);
  });

  it("agrees with stepping term by term for every day of several years (weeks and months)", () => {
    for (const term of [
      { length: 1, type: "months" },
      { length: 3, type: "months" },
      { length: 2, type: "weeks" },
    ] as const) {
      let k = 0;
      for (let day = 0; day < 3 * 365; day += 1) {
        const now = new Date(start.getTime() + day * 86_400_000 + 3_600_000);
        while (addUnits(start, term.length * (k + 1), term.type) <= now) k++;
        expect(limioTerm({ start, term, now }).renewals, `${term.length} ${term.type} day ${day}`).toBe(k);
      }
    }
  });
});

describe("parseSpan", () => {
  it("reads the term as the store keeps it, singular or plural", () => {
    expect(parseSpan("12 months")).toEqual({ length: 12, type: "months" });
    expect(parseSpan("1 year")).toEqual({ length: 1, type: "years" });
    expect(parseSpan(" 2 Weeks ")).toEqual({ length: 2, type: "weeks" });
  });
  it("gives undefined for anything else, so the caller falls back to the billing period", () => {
    for (const text of [null, undefined, "", "0 months", "12", "months", "1.5 months", "12 fortnights"]) {
      expect(parseSpan(text), String(text)).toBeUndefined();
    }
  });
});
