import { describe, expect, it } from "vitest";
import { monthlyCharge, testOffer } from "../../test/offer-builders.ts";
import type { Offer } from "../catalog.ts";
import { planNewOrder } from "../rules/new-order-plan.ts";
import {
  ALL_FEATURES,
  checkOrderFields,
  dispositionOf,
  ORDER_FIELD_RULES,
  planRefusals,
  ruleFor,
} from "./field-rules.ts";
import { parseLimioOrder } from "./parse-limio-order.ts";
import { supportedOrderTypes } from "./schemas.ts";

const SUB = "sub-5c3d83c60950014c306865f0ab8c499b";
const now = new Date("2026-12-01T10:00:00Z");
const newOrder = (over: Record<string, unknown> = {}) => ({
  order_type: "new",
  checkoutId: "basket-1",
  country: "GB",
  orderItems: [{ offer: { id: "o1", version: "v1" }, quantity: 1 }],
  billingDetails: { email: "a@example.com", country: "GB" },
  payment: { type: "stripe" },
  ...over,
});
/** A writer that executes none of the features: what each feature's switch guards. */
const NO_FEATURES = Object.fromEntries(
  Object.keys(ALL_FEATURES).map((f) => [f, false]),
) as unknown as typeof ALL_FEATURES;
/** The refused paths of an order, with a writer that executes no feature (by default). */
const refused = (order: Record<string, unknown>, features = NO_FEATURES) => {
  const r = parseLimioOrder(order, { now, features });
  if (r.ok) return [];
  expect(r.code).toBe("unsupported_field");
  return r.errors.map((e) => e.path);
};

const discount = {
  name: "Three months half price",
  discountOverrides: {
    discountType: "percentage",
    percentageDiscount: 50,
    durationType: "billing_periods",
    durationLength: 3,
  },
};

describe("fields that change what a customer pays are refused by path until the writer applies them", () => {
  it.each([
    ["a discount", { orderDiscount: discount }, ["orderDiscount"]],
    [
      "a second order item",
      { orderItems: [{ offer: { id: "a" } }, { offer: { id: "b" } }, { offer: { id: "c" } }] },
      ["orderItems.1", "orderItems.2"],
    ],
    [
      "an add-on",
      { orderItems: [{ offer: { id: "a" }, addOns: [{ addOn: { id: "x" }, quantity: 1 }] }] },
      ["orderItems.0.addOns"],
    ],
    ["a fixed term", { autoRenew: false }, ["autoRenew"]],
    ["a future start", { orderDate: "2026-12-24T00:00:00Z" }, ["orderDate"]],
    ["a trial", { isTrial: true }, ["isTrial"]],
    ["a gift", { isGift: true }, ["isGift"]],
    ["a gift redemption", { isRedeem: true }, ["isRedeem"]],
    ["a gift code", { payment: { type: "stripe", gift_code: "GIFT-1" } }, ["payment.gift_code"]],
    [
      "another payment provider",
      { payment: { type: "zuora", zuora: { refId: "x" } } },
      ["payment.type", "payment.zuora"],
    ],
    [
      "a discount restricted to products",
      { orderDiscount: { ...discount, productDetails: [{ id: "p" }] } },
      ["orderDiscount"],
    ],
    ["an unknown field", { promoCode: "HALFPRICE" }, ["promoCode"]],
    [
      "an unknown field inside an item",
      { orderItems: [{ offer: { id: "a" }, discount: 5 }] },
      ["orderItems.0.discount"],
    ],
  ])("%s", (_, over, paths) => {
    expect(refused(newOrder(over))).toEqual(paths);
  });

  it("says what is not supported, and that the value asking for nothing would pass", () => {
    const r = parseLimioOrder(newOrder({ isGift: true, orderDiscount: discount }), {
      now,
      features: NO_FEATURES,
    });
    expect(r).toEqual({
      ok: false,
      code: "unsupported_field",
      errors: [
        { path: "isGift", message: "not supported: gifts are not supported; accepted only when false" },
        {
          path: "orderDiscount",
          message: expect.stringMatching(
            /^discounts are not applied in Stripe yet; accepted only when empty$/,
          ),
        },
      ],
    });
    const date = parseLimioOrder(newOrder({ orderDate: "2027-01-01" }), { now, features: NO_FEATURES });
    expect(date.ok ? null : date.errors[0]!.message).toMatch(
      /^future starts are not applied in Stripe yet; accepted only when today or earlier$/,
    );
  });

  it("accepts the values that ask for nothing", () => {
    expect(
      refused(
        newOrder({
          isGift: false,
          isRedeem: false,
          isTrial: false,
          autoRenew: true,
          orderDate: "2026-12-01",
          orderDiscount: {},
          orderItems: [{ offer: { id: "a" }, addOns: [] }],
        }),
      ),
    ).toEqual([]);
    expect(refused(newOrder({ orderDiscount: null }))).toEqual([]);
  });

  it("keeps what does not touch Stripe, however it is shaped", () => {
    expect(
      refused(
        newOrder({
          tracking: { campaign: "c", anything: { deep: [1, 2] } },
          customerDetails: {
            email: "a@example.com",
            marketingPrefs: { email: true, sms: { opted: false } },
            newField: "on",
          },
          billingDetails: { email: "a@example.com", streetName: "Saddle Dr", buildingNumber: "37" },
          userDetails: { sub: "id-1" },
          total: { amount: 0, currency: "USD" },
          orderItems: [
            {
              offer: { id: "a", data: { attributes: { price__limio: [] } } },
              price: { amount: 0 },
              name: "n",
            },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it("with every feature on, the same orders pass the field check (their rules decide the rest)", () => {
    expect(
      refused(
        newOrder({
          orderDiscount: discount,
          orderItems: [{ offer: { id: "a" }, addOns: [{ addOn: { id: "x" } }] }, { offer: { id: "b" } }],
          autoRenew: false,
          orderDate: "2027-01-01",
          isTrial: true,
        }),
        ALL_FEATURES,
      ),
    ).toEqual([]);
    // Gifts and unknown fields stay refused whatever the writer can do.
    expect(refused(newOrder({ isGift: true, promoCode: "x" }), ALL_FEATURES)).toEqual([
      "isGift",
      "promoCode",
    ]);
  });
});

describe("other order types", () => {
  it("change_offer: a second offer, a quantity, a future effectiveDate and another change_type are refused", () => {
    const base = { order_type: "change_offer", subscriptionId: SUB };
    expect(refused({ ...base, orderItems: [{ offer: { id: "a" }, quantity: 3 }] })).toEqual([
      "orderItems.0.quantity",
    ]);
    expect(refused({ ...base, offer: { id: "a" }, effectiveDate: "2027-01-01" })).toEqual(["effectiveDate"]);
    expect(refused({ ...base, offer: { id: "a" }, effectiveDate: "2026-11-21" })).toEqual([]);
    expect(refused({ ...base, offer: { id: "a" }, change_type: "add_charge" })).toEqual(["change_type"]);
    expect(refused({ ...base, offer: { id: "a" }, change_type: "change_offer" })).toEqual([]);
    expect(refused({ ...base, offer: { id: "a" }, effectiveDate: "2027-01-01" }, ALL_FEATURES)).toEqual([]);
  });

  it("cancel_subscription: a future effectiveDate is refused until the writer applies it; cancelDate is applied", () => {
    const base = { order_type: "cancel_subscription", subscriptionId: SUB };
    expect(refused({ ...base, cancelDate: "2027-06-01", data: { reason: { id: "x", other: 1 } } })).toEqual(
      [],
    );
    expect(refused({ ...base, effectiveDate: "2027-06-01" })).toEqual(["effectiveDate"]);
    expect(refused({ ...base, orderItems: [] })).toEqual(["orderItems"]);
  });

  it("change_address and change_payment know their own fields only", () => {
    expect(
      refused({
        order_type: "change_address",
        subscriptionId: SUB,
        address: { city: "Leeds" },
        orderDiscount: discount,
      }),
    ).toEqual(["orderDiscount"]);
    expect(
      refused({ order_type: "change_payment", subscriptionId: SUB, payment: { type: "paypal", paypal: {} } }),
    ).toEqual(["payment.type", "payment.paypal"]);
  });
});

describe("the table", () => {
  it("picks the most specific rule: a literal beats *, at the first place they differ", () => {
    expect(ruleFor("new", ["orderItems", 0])?.path).toBe("orderItems.0");
    expect(ruleFor("new", ["orderItems", 1])?.path).toBe("orderItems.*");
    expect(ruleFor("new", ["orderItems", 3, "offer", "id"])?.path).toBe("orderItems.*.offer.id");
    expect(ruleFor("new", ["orderItems", 3, "offer", "data"])?.path).toBe("orderItems.*.offer.*");
    expect(ruleFor("change_offer", ["orderItems", 0, "quantity"])?.path).toBe("orderItems.*.quantity");
    expect(ruleFor("change_offer", ["orderItems", 0, "name"])?.path).toBe("orderItems.*.*");
    expect(ruleFor("new", ["nope"])).toBeUndefined();
  });

  it("the trie lookup gives the rule a scan of the whole table gives, for every path the table can name", () => {
    // The plain definition: of the rules whose pattern matches, the one with a literal where the
    // others have `*` at the first place they differ; for the same pattern, the first in the table.
    const scan = (type: (typeof supportedOrderTypes)[number], path: readonly (string | number)[]) => {
      const matching = ORDER_FIELD_RULES.filter(
        (r) =>
          r.types.includes(type) &&
          r.path.split(".").length === path.length &&
          r.path.split(".").every((p, i) => p === "*" || p === String(path[i])),
      );
      const wildcards = (r: (typeof matching)[number]) => r.path.split(".").map((p) => (p === "*" ? 1 : 0));
      return matching.reduce<(typeof matching)[number] | undefined>((best, r) => {
        if (!best) return r;
        const [a, b] = [wildcards(r), wildcards(best)];
        const i = a.findIndex((w, k) => w !== b[k]);
        return i >= 0 && a[i]! < b[i]! ? r : best;
      }, undefined);
    };
    const keys = [...new Set(ORDER_FIELD_RULES.flatMap((r) => r.path.split(".")))].filter((k) => k !== "*");
    let checked = 0;
    for (const type of supportedOrderTypes) {
      for (const rule of ORDER_FIELD_RULES) {
        const pattern = rule.path.split(".");
        // Each `*` as an index, an unknown key, and a key of the table.
        for (const fill of [0, 1, "zz", keys[checked % keys.length]!]) {
          const path = pattern.map((p) => (p === "*" ? fill : p));
          expect(ruleFor(type, path)?.path, `${type} ${path.join(".")}`).toBe(scan(type, path)?.path);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(ORDER_FIELD_RULES.length);
  });

  it("every field that changes what is billed is applied or refused, never merely kept", () => {
    const moneyFields = [
      "orderItems.*.offer.id",
      "orderItems.*.quantity",
      "orderItems.*.addOns",
      "orderDiscount",
      "autoRenew",
      "orderDate",
      "isTrial",
      "isGift",
      "payment.type",
      "total",
    ];
    for (const path of moneyFields) {
      const rule = ORDER_FIELD_RULES.find((r) => r.path === path && r.types.includes("new"));
      expect(rule && dispositionOf(rule), path).not.toBe("kept");
    }
    const effective = ORDER_FIELD_RULES.find(
      (r) => r.path === "effectiveDate" && r.types.includes("change_offer"),
    )!;
    expect(dispositionOf(effective, NO_FEATURES)).toBe("refused");
    expect(dispositionOf(effective, ALL_FEATURES)).toBe("applied");
  });

  it("checkOrderFields ignores undefined values (absent fields)", () => {
    expect(checkOrderFields("new", { orderDiscount: undefined, isGift: undefined }, { now })).toEqual([]);
  });
});

describe("planRefusals: what the catalog asks for that no order field says", () => {
  const offer = (id: string, extra: object = {}, charge: object = {}): Offer =>
    testOffer(id, [monthlyCharge("9.99", charge)], extra);
  const catalog: Record<string, Offer> = {
    plain: offer("plain"),
    fixed: offer("fixed", { autoRenew: false }),
    trial: offer("trial", {}, { trigger: "delayed", delay_interval: 7, delay_interval_type: "days" }),
  };
  const planFor = (orderItems: { offer: { id: string } }[]) =>
    planNewOrder({ order: { orderItems }, findOffer: (id) => catalog[id], now });

  it("refuses, naming the offer, a fixed term or a trial the writer does not execute yet", () => {
    expect(planRefusals(planFor([{ offer: { id: "plain" } }]), NO_FEATURES)).toEqual([]);
    expect(planRefusals(planFor([{ offer: { id: "fixed" } }]), NO_FEATURES)).toEqual([
      {
        path: "orderItems.0.offer.id",
        message: expect.stringMatching(/^fixed terms are not applied in Stripe yet: /),
      },
    ]);
    expect(planRefusals(planFor([{ offer: { id: "trial" } }]), NO_FEATURES).map((r) => r.path)).toEqual([
      "orderItems.0.offer.id",
    ]);
    expect(
      planRefusals(planFor([{ offer: { id: "plain" } }, { offer: { id: "plain" } }]), NO_FEATURES).map(
        (r) => r.path,
      ),
    ).toEqual(["orderItems.1"]);
    expect(planRefusals(planFor([{ offer: { id: "trial" } }]), ALL_FEATURES)).toEqual([]);
  });
});
