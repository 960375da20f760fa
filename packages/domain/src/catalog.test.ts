import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  demoCatalogUrl,
  describeCatalogErrors,
  findOffer,
  offerCurrency,
  offerVersionOf,
  parseCatalog,
} from "./catalog.ts";

const demo = JSON.parse(readFileSync(demoCatalogUrl, "utf8"));

describe("parseCatalog", () => {
  it("parses the demo catalog with GBP, USD and JPY offers", () => {
    const r = parseCatalog(demo);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const currencies = new Set(r.catalog.offers.map(offerCurrency));
    expect(currencies).toEqual(new Set(["GBP", "USD", "JPY"]));
    const print = findOffer(r.catalog, "f9a4695c077b2d1446d4fd8ebfd071b428e90899")!;
    expect(print.charges.map((c) => c.type)).toEqual(["recurring", "one_time"]);
    expect(print.stripeProductCode).toBe("prod_LedgerPrintDigital01");
    expect(findOffer(r.catalog, "nope")).toBeUndefined();
  });

  it("normalises Limio's spellings of charge type and interval unit", () => {
    const r = parseCatalog({
      offers: [
        {
          id: "o1",
          name: "X",
          stripeProductCode: "prod_X",
          term: { length: "12", type: "month" },
          charges: [
            {
              value: 5,
              currencyCode: "eur",
              type: "recurring",
              repeat_interval: "1",
              repeat_interval_type: "week",
            },
            { value: "1.00", currencyCode: "EUR", type: "onetime" },
          ],
        },
      ],
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const [rec, once] = r.catalog.offers[0]!.charges;
    expect(rec).toMatchObject({ currencyCode: "EUR", repeat_interval: 1, repeat_interval_type: "weeks" });
    expect(once!.type).toBe("one_time");
    expect(r.catalog.offers[0]!.term).toMatchObject({ length: 12, type: "months" });
    expect(r.catalog.offers[0]!.autoRenew).toBe(true);
  });

  it("names the broken field", () => {
    const offer = (over: object) => ({
      id: "o1",
      name: "X",
      stripeProductCode: "prod_X",
      term: { length: 1, type: "months" },
      charges: [
        {
          value: "9.99",
          currencyCode: "GBP",
          type: "recurring",
          repeat_interval: 1,
          repeat_interval_type: "months",
        },
      ],
      ...over,
    });
    const paths = (json: unknown) => {
      const r = parseCatalog(json);
      return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
    };
    expect(paths({ offers: [offer({ stripeProductCode: "price_1" })] })[0]).toMatch(
      /^offers\.0\.stripeProductCode: .*prod_/,
    );
    expect(
      paths({ offers: [offer({ charges: [{ value: "9.999", currencyCode: "GBP", type: "one_time" }] })] })[0],
    ).toMatch(/^offers\.0\.charges\.0\.value: .*more decimals/);
    expect(
      paths({ offers: [offer({ charges: [{ value: "1", currencyCode: "GBP", type: "recurring" }] })] }),
    ).toEqual([
      "offers.0.charges.0.repeat_interval: required for a recurring charge",
      "offers.0.charges.0.repeat_interval_type: required for a recurring charge",
    ]);
    expect(
      paths({
        offers: [
          offer({
            charges: [
              { value: "1", currencyCode: "GBP", type: "one_time" },
              { value: "1", currencyCode: "USD", type: "one_time" },
            ],
          }),
        ],
      }),
    ).toEqual(["offers.0.charges: mixed currencies: GBP, USD"]);
    expect(paths({ offers: [offer({}), offer({})] })).toEqual(["offers.1.id: duplicate offer id 'o1'"]);
    expect(paths(null)[0]).toMatch(/^\(root\)/);
  });
});

describe("Limio's offer export", () => {
  const exported = JSON.parse(
    readFileSync(new URL("../../../test/fixtures/limio/offer-export.json", import.meta.url), "utf8"),
  );

  it("reads price__limio, term__limio, autoRenew__limio, switch_date__limio and the Stripe Product Code", () => {
    const r = parseCatalog(exported);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const weekend = findOffer(r.catalog, "6eacdc8ea4d77136c0ca25029fa60fe03310139e")!;
    expect(weekend).toMatchObject({
      version: "66bf01e999b34c4c06fee7c469794cbe0b55ce2a",
      name: "Weekend Print Monthly",
      displayName: "The weekend paper delivered, billed monthly",
      productName: "Daily Ledger Weekend Print",
      stripeProductCode: "prod_LedgerWeekend01",
      term: { length: 1, type: "months" },
      autoRenew: true,
      switch_date__limio: "next_billing_date",
    });
    // Limio's nulls (delay_interval: null) mean "not set".
    expect(weekend.charges).toEqual([
      expect.objectContaining({ value: "14.99", currencyCode: "GBP", type: "recurring", repeat_interval: 1 }),
    ]);
    expect(weekend.charges[0]).not.toHaveProperty("delay_interval");
  });

  it("names the offer and Limio's own path of a broken field", () => {
    const [first] = exported;
    const broken = structuredClone(first);
    broken.data.attributes.price__limio[0].value = "14.999";
    delete broken.data.products[0].attributes.stripe_product_code__limio;
    const r = parseCatalog([broken]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(describeCatalogErrors(r.errors)).toBe(
      [`offer '${first.id}' offers.0.data.attributes.price__limio.0.value: ${r.errors[0]!.message}`].join(
        "\n",
      ),
    );
    expect(r.errors[0]!.message).toMatch(/decimals/);
    // Once the price is fixed, the missing product code is named.
    broken.data.attributes.price__limio[0].value = "14.99";
    const r2 = parseCatalog([broken]);
    expect(r2.ok ? [] : describeCatalogErrors(r2.errors)).toMatch(
      new RegExp(
        `^offer '${first.id}' offers\\.0\\.data\\.attributes\\.stripe_product_code__limio: required`,
      ),
    );
  });

  it("versions an offer without one by its content", () => {
    const r = parseCatalog(demo);
    if (!r.ok) throw new Error("demo catalog invalid");
    const offer = r.catalog.offers[0]!;
    expect(offerVersionOf(offer)).toBe(offer.version);
    const { version: _v, ...unversioned } = offer;
    const a = offerVersionOf(unversioned);
    expect(a).toMatch(/^[0-9a-f]{40}$/);
    expect(offerVersionOf({ ...unversioned })).toBe(a);
    expect(offerVersionOf({ ...unversioned, name: "Renamed" })).not.toBe(a);
  });
});
