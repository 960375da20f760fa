import { describe, expect, it } from "vitest";
import { cancelTiming } from "./cancel.ts";
import { refusalOf } from "./refusal.ts";

const periodEnd = Math.floor(Date.parse("2026-12-21T00:00:00Z") / 1000);

describe("cancelTiming", () => {
  it("ends at the period end when no date is given, or the date is before or at it", () => {
    for (const cancelDate of [undefined, "2020-01-01", "2026-12-01T10:00:00Z", "2026-12-21T00:00:00Z"]) {
      expect(cancelTiming({ cancelDate, periodEnd }), String(cancelDate)).toEqual({
        cancel_at_period_end: true,
      });
    }
  });

  it("ends at a later date with cancel_at and no proration", () => {
    expect(cancelTiming({ cancelDate: "2027-01-15", periodEnd })).toEqual({
      cancel_at: Math.floor(Date.parse("2027-01-15T00:00:00Z") / 1000),
      proration_behavior: "none",
    });
  });

  it("takes effectiveDate when cancelDate is absent, and refuses the two when they disagree", () => {
    expect(cancelTiming({ effectiveDate: "2027-01-15", periodEnd })).toMatchObject({
      proration_behavior: "none",
    });
    expect(
      cancelTiming({ cancelDate: "2027-01-15", effectiveDate: "2027-01-15T00:00:00Z", periodEnd }),
    ).toMatchObject({
      proration_behavior: "none",
    });
    expect(
      refusalOf(() => cancelTiming({ cancelDate: "2027-01-15", effectiveDate: "2027-02-01", periodEnd }))
        ?.path,
    ).toBe("effectiveDate");
  });
});
