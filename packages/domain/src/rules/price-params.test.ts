import { describe, expect, it } from "vitest";
import { type Offer, offerSchema } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import {
  buildOfferPriceParams,
  buildPriceParams,
  fnv1a64,
  LOOKUP_KEY_MAX,
  priceLookupKey,
} from "./price-params.ts";

const offer = (over: Partial<Record<string, unknown>> = {}): Offer =>
  offerSchema.parse({
    id: "cd6ab2dcae031206d51dc28b1dbfebdb980be49f",
    version: "c27926b44dad5334d481966d53bcac5d010f3912",
    name: "Print + Digital",
    stripeProductCode: "prod_Print01",
    term: { length: 1, type: "months" },
    charges: [
      {
        name: "Sub",
        value: "24.99",
        currencyCode: "GBP",
        type: "recurring",
        repeat_interval: 1,
        repeat_interval_type: "months",
      },
      { name: "Welcome pack", value: "4.99", currencyCode: "GBP", type: "one_time" },
    ],
    ...over,
  });

describe("buildPriceParams", () => {
  it("maps a recurring charge to a recurring Price on the offer's product", () => {
    expect(buildPriceParams(offer(), 0)).toEqual({
      currency: "gbp",
      unit_amount: 2499,
      product: "prod_Print01",
      recurring: { interval: "month", interval_count: 1 },
      nickname: "Print + Digital: Sub",
      lookup_key: "limio:cd6ab2dcae031206d51dc28b1dbfebdb980be49f:0:prod_Print01:gbp:2499:1month",
      metadata: {
        limio_offer_id: "cd6ab2dcae031206d51dc28b1dbfebdb980be49f",
        limio_offer_version: "c27926b44dad5334d481966d53bcac5d010f3912",
        limio_charge_index: "0",
        limio_charge_name: "Sub",
      },
    });
  });

  it("maps a one-off charge to a Price without recurring", () => {
    const p = buildPriceParams(offer(), 1);
    expect(p).not.toHaveProperty("recurring");
    expect(p.unit_amount).toBe(499);
    expect(p.lookup_key).toMatch(/:1:prod_Print01:gbp:499:once$/);
    expect(buildOfferPriceParams(offer())).toHaveLength(2);
  });

  it("maps each interval unit and count", () => {
    const rec = (n: number, unit: string) =>
      buildPriceParams(
        offer({
          charges: [
            {
              value: "1",
              currencyCode: "USD",
              type: "recurring",
              repeat_interval: n,
              repeat_interval_type: unit,
            },
          ],
        }),
        0,
      ).recurring;
    expect(rec(7, "days")).toEqual({ interval: "day", interval_count: 7 });
    expect(rec(2, "weeks")).toEqual({ interval: "week", interval_count: 2 });
    expect(rec(3, "months")).toEqual({ interval: "month", interval_count: 3 });
    expect(rec(1, "years")).toEqual({ interval: "year", interval_count: 1 });
    expect(() => rec(37, "months")).toThrow(/at most 36/);
    expect(() => rec(4, "years")).toThrow(DomainRuleError);
  });

  it("uses zero-decimal minor units for JPY", () => {
    const p = buildPriceParams(
      offer({
        charges: [
          {
            value: "1500",
            currencyCode: "JPY",
            type: "recurring",
            repeat_interval: 1,
            repeat_interval_type: "months",
          },
        ],
      }),
      0,
    );
    expect(p).toMatchObject({ currency: "jpy", unit_amount: 1500 });
    expect(p.lookup_key).toContain(":jpy:1500:1month");
  });

  it("is deterministic, ignores the offer version, and changes with the price", () => {
    const a = buildPriceParams(offer(), 0).lookup_key;
    expect(buildPriceParams(offer(), 0).lookup_key).toBe(a);
    expect(buildPriceParams(offer({ version: "other" }), 0).lookup_key).toBe(a);
    const cheaper = offer({
      charges: [
        {
          value: "19.99",
          currencyCode: "GBP",
          type: "recurring",
          repeat_interval: 1,
          repeat_interval_type: "months",
        },
      ],
    });
    expect(buildPriceParams(cheaper, 0).lookup_key).not.toBe(a);
    expect(buildPriceParams(offer({ stripeProductCode: "prod_Other" }), 0).lookup_key).not.toBe(a);
    expect(buildPriceParams(offer({ version: undefined }), 0).metadata).not.toHaveProperty(
      "limio_offer_version",
    );
  });

  it("refuses an unknown charge index", () => {
    expect(() => buildPriceParams(offer(), 5)).toThrow(/no charge #5/);
  });
});

describe("priceLookupKey", () => {
  const parts = { chargeIndex: 0, product: "prod_X", currency: "GBP", unitAmount: 999, recurring: undefined };
  it("keeps long keys within 200 characters, unique and stable via a hashed tail", () => {
    const k1 = priceLookupKey({ ...parts, offerId: "o".repeat(300) });
    const k2 = priceLookupKey({ ...parts, offerId: `${"o".repeat(299)}p` });
    expect(k1.length).toBe(LOOKUP_KEY_MAX);
    expect(k1).toMatch(/~[0-9a-f]{16}$/);
    expect(k1).not.toBe(k2);
    expect(priceLookupKey({ ...parts, offerId: "o".repeat(300) })).toBe(k1);
    expect(priceLookupKey({ ...parts, offerId: "short" })).toBe("limio:short:0:prod_X:gbp:999:once");
  });
  it("hashes with FNV-1a 64 (known vectors)", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
  });
});
