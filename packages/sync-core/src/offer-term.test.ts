import { offerTermMetadata } from "@bridge/domain";
import { describe, expect, it } from "vitest";
import { offerTermFor } from "./offer-term.ts";

describe("offerTermFor", () => {
  const catalog = { term: "1 years", autoRenew: true };

  it("prefers what the subscription bought (its metadata) over today's catalog", () => {
    const metadata = offerTermMetadata({ term: { length: 12, type: "months" }, autoRenew: false });
    expect(offerTermFor({ metadata }, catalog)).toEqual({
      term: { length: 12, type: "months" },
      autoRenew: false,
    });
  });

  it("falls back to the catalog offer Stripe bills, then to nothing (the billing period)", () => {
    expect(offerTermFor({ metadata: { limio_order_id: "o-1" } }, catalog)).toEqual({
      term: { length: 1, type: "years" },
      autoRenew: true,
    });
    expect(offerTermFor({ metadata: {} }, { term: "6 months", autoRenew: false })).toEqual({
      term: { length: 6, type: "months" },
      autoRenew: false,
    });
    expect(offerTermFor({ metadata: {} }, { term: null, autoRenew: true })).toBeUndefined();
    expect(offerTermFor({ metadata: {} }, null)).toBeUndefined();
  });
});
