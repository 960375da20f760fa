import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainRuleError } from "../errors.ts";
import { currencyExponent, fromMinorUnits, toMinorUnits, ZERO_DECIMAL_CURRENCIES } from "./money.ts";

describe("toMinorUnits", () => {
  it("converts two-decimal currencies from strings and numbers", () => {
    expect(toMinorUnits("9.99", "GBP")).toBe(999);
    expect(toMinorUnits(9.99, "gbp")).toBe(999);
    expect(toMinorUnits("50", "EUR")).toBe(5000);
    expect(toMinorUnits("0.1", "USD")).toBe(10);
    expect(toMinorUnits(" 12.50 ", "USD")).toBe(1250);
  });

  it("has no float error where a float multiply would", () => {
    expect(1.005 * 100).not.toBe(100.5); // the trap
    expect(toMinorUnits("1.01", "KWD")).toBe(1010);
    expect(toMinorUnits(0.29, "USD")).toBe(29); // 0.29 * 100 = 28.999999999999996
    expect(toMinorUnits(19.99, "GBP")).toBe(1999);
  });

  it("treats every zero-decimal currency as whole units", () => {
    for (const c of ZERO_DECIMAL_CURRENCIES) {
      expect(currencyExponent(c)).toBe(0);
      expect(toMinorUnits("500", c)).toBe(500);
      expect(toMinorUnits("500.00", c)).toBe(500);
    }
    expect(() => toMinorUnits("500.5", "JPY")).toThrow(/more decimals than JPY allows \(0\)/);
  });

  it("refuses a three-decimal amount Stripe cannot charge exactly (last decimal not 0), never rounds it", () => {
    for (const c of ["BHD", "JOD", "KWD", "OMR", "TND"]) expect(currencyExponent(c)).toBe(3);
    expect(() => toMinorUnits("1.234", "KWD")).toThrow(/'1.234' cannot be charged exactly in KWD/);
    expect(() => toMinorUnits("1.235", "KWD")).toThrow(DomainRuleError);
    expect(() => toMinorUnits("0.005", "KWD")).toThrow(DomainRuleError);
    expect(() => toMinorUnits(1.005, "JOD")).toThrow(DomainRuleError);
    expect(toMinorUnits("1.230", "KWD")).toBe(1230);
    expect(toMinorUnits("1.23", "BHD")).toBe(1230);
    expect(toMinorUnits("5", "OMR")).toBe(5000);
  });

  it("refuses malformed, negative, excess-precision and huge amounts", () => {
    for (const bad of ["", "abc", "-1", "1,99", "1e3", "1.2.3", ".5"]) {
      expect(() => toMinorUnits(bad, "GBP")).toThrow(DomainRuleError);
    }
    expect(() => toMinorUnits(Number.NaN, "GBP")).toThrow(/not finite/);
    expect(() => toMinorUnits("9.999", "GBP")).toThrow(/more decimals than GBP allows \(2\)/);
    expect(() => toMinorUnits("99999999999999999", "GBP")).toThrow(/too large/);
  });

  it("round-trips with fromMinorUnits for any amount in cents", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000_000 }),
        fc.constantFrom("GBP", "JPY", "USD"),
        (minor, cur) => {
          expect(toMinorUnits(fromMinorUnits(minor, cur), cur)).toBe(minor);
        },
      ),
    );
  });
});

describe("fromMinorUnits", () => {
  it("formats per currency exponent", () => {
    expect(fromMinorUnits(999, "GBP")).toBe("9.99");
    expect(fromMinorUnits(5, "GBP")).toBe("0.05");
    expect(fromMinorUnits(-250, "USD")).toBe("-2.50");
    expect(fromMinorUnits(500, "JPY")).toBe("500");
    expect(fromMinorUnits(1240, "KWD")).toBe("1.240");
    expect(() => fromMinorUnits(1.5, "GBP")).toThrow(/not an integer/);
  });
});
