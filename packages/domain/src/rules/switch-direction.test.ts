import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { demoCatalogUrl, findOffer, type Offer, offerSchema, parseCatalog } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import { compareOffers, recurringAmountPerDay, switchDirection, switchPlan } from "./switch-direction.ts";

const offer = (id: string, charges: object[]): Offer =>
  offerSchema.parse({
    id,
    name: id,
    stripeProductCode: "prod_X",
    term: { length: 1, type: "months" },
    charges,
  });
const rec = (value: string, n: number, unit: string, currencyCode = "GBP") => ({
  value,
  currencyCode,
  type: "recurring",
  repeat_interval: n,
  repeat_interval_type: unit,
});

describe("switchDirection", () => {
  const catalog = (() => {
    const r = parseCatalog(JSON.parse(readFileSync(demoCatalogUrl, "utf8")));
    if (!r.ok) throw new Error("demo catalog invalid");
    return r.catalog;
  })();
  const demo = (id: string) => findOffer(catalog, id)!;
  const digitalMonthly = demo("cd6ab2dcae031206d51dc28b1dbfebdb980be49f");
  const digitalQuarterly = demo("2b697561e1088dcca00e4496a0f15691b7d9a09e");
  const digitalAnnual = demo("824dac9cd63e67003c26a5f14a8b70f64723c812");
  const printDigital = demo("f9a4695c077b2d1446d4fd8ebfd071b428e90899");
  const usd = demo("a5be949a105891ea22d779e23fd01ed49d950eed");

  it("classifies the demo catalog's switches", () => {
    expect(switchDirection(digitalMonthly, printDigital)).toBe("upgrade");
    expect(switchDirection(printDigital, digitalMonthly)).toBe("downgrade");
    // £99/year is cheaper per day than £9.99/month (£119.88/year).
    expect(switchDirection(digitalMonthly, digitalAnnual)).toBe("downgrade");
    expect(switchDirection(digitalQuarterly, digitalMonthly)).toBe("upgrade");
    expect(switchDirection(digitalMonthly, digitalMonthly)).toBe("same");
  });

  it("ignores one-off charges (the £4.99 welcome pack is not a recurring cost)", () => {
    const plain = offer("p", [rec("24.99", 1, "months")]);
    expect(recurringAmountPerDay(printDigital)).toBeCloseTo(recurringAmountPerDay(plain), 12);
    expect(switchDirection(plain, printDigital)).toBe("same");
  });

  it("normalises every interval unit per day and sums recurring charges", () => {
    expect(recurringAmountPerDay(offer("d", [rec("1", 1, "days")]))).toBeCloseTo(100, 9);
    expect(recurringAmountPerDay(offer("w", [rec("7", 1, "weeks")]))).toBeCloseTo(100, 9);
    expect(recurringAmountPerDay(offer("y", [rec("365.25", 1, "years")]))).toBeCloseTo(100, 9);
    expect(recurringAmountPerDay(offer("m", [rec("12", 1, "months")]))).toBeCloseTo(1200 / (365.25 / 12), 9);
    expect(recurringAmountPerDay(offer("s", [rec("1", 1, "days"), rec("2", 2, "days")]))).toBeCloseTo(200, 9);
  });

  it("calls equal yearly cost within one minor unit 'same', and one unit more an upgrade", () => {
    const monthly = offer("m", [rec("9.99", 1, "months")]);
    expect(compareOffers(monthly, offer("y", [rec("119.88", 1, "years")]))).toMatchObject({
      direction: "same",
    });
    expect(compareOffers(monthly, offer("y", [rec("119.89", 1, "years")]))).toMatchObject({
      direction: "upgrade",
    });
    expect(compareOffers(monthly, offer("y", [rec("119.87", 1, "years")]))).toMatchObject({
      direction: "downgrade",
    });
    const weekly = offer("w", [rec("7", 1, "weeks")]);
    const daily = offer("d", [rec("1", 1, "days")]);
    expect(switchDirection(weekly, daily)).toBe("same");
  });

  it("refuses a switch across currencies with a clear error", () => {
    expect(() => switchDirection(digitalMonthly, usd)).toThrow(DomainRuleError);
    expect(() => switchDirection(digitalMonthly, usd)).toThrow(/\(GBP\) to offer .* \(USD\)/);
  });

  it("plans each direction as DESIGN §2 says", () => {
    expect(switchPlan("upgrade")).toEqual({ timing: "immediate", proration_behavior: "always_invoice" });
    expect(switchPlan("downgrade")).toEqual({ timing: "period_end", via: "subscription_schedule" });
    expect(switchPlan("same")).toEqual({ timing: "immediate", proration_behavior: "none" });
  });
});
