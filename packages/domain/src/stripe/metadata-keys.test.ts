import { describe, expect, it } from "vitest";
import {
  LIMIO_AUTO_RENEW,
  LIMIO_TERM_LENGTH,
  LIMIO_TERM_TYPE,
  offerTermFromMetadata,
  offerTermMetadata,
  termEndFromMetadata,
  termEndMetadata,
} from "./metadata-keys.ts";
import type { StripeMetadata } from "./types.ts";

describe("offer term metadata", () => {
  it("round-trips what the writer stamps", () => {
    const stamped = offerTermMetadata({ term: { length: 12, type: "months" }, autoRenew: false });
    expect(stamped).toEqual({
      limio_term_length: "12",
      limio_term_type: "months",
      limio_auto_renew: "false",
    });
    expect(offerTermFromMetadata({ limio_order_id: "o-1", ...stamped })).toEqual({
      term: { length: 12, type: "months" },
      autoRenew: false,
    });
  });

  it("is absent without both term keys or with malformed ones: the sync falls back to the catalog", () => {
    expect(offerTermFromMetadata(undefined)).toBeUndefined();
    expect(offerTermFromMetadata({ [LIMIO_TERM_LENGTH]: "12" })).toBeUndefined();
    for (const [length, type] of [
      ["0", "months"],
      ["1.5", "months"],
      ["12", "month"],
      ["12", "quarters"],
      ["-1", "years"],
    ]) {
      expect(
        offerTermFromMetadata({ [LIMIO_TERM_LENGTH]: length!, [LIMIO_TERM_TYPE]: type! }),
      ).toBeUndefined();
    }
  });

  it("renews unless it says false (Limio's default is auto-renew)", () => {
    const term = { [LIMIO_TERM_LENGTH]: "1", [LIMIO_TERM_TYPE]: "years" };
    expect(offerTermFromMetadata(term)?.autoRenew).toBe(true);
    expect(offerTermFromMetadata({ ...term, [LIMIO_AUTO_RENEW]: "true" })?.autoRenew).toBe(true);
    expect(offerTermFromMetadata({ ...term, [LIMIO_AUTO_RENEW]: "false" })?.autoRenew).toBe(false);
  });
});

describe("a fixed term's end metadata", () => {
  it("round-trips the unix seconds sent as cancel_at, within Stripe's metadata limits", () => {
    const stamped = termEndMetadata(1_798_761_600);
    expect(stamped).toEqual({ limio_term_end: "1798761600" });
    // Stripe: keys up to 40 characters, values up to 500 (and 50 keys).
    for (const [k, v] of Object.entries(stamped))
      expect([k.length <= 40, v.length <= 500]).toEqual([true, true]);
    expect(termEndFromMetadata({ limio_order_id: "o-1", ...stamped })).toBe(1_798_761_600);
    const bad: StripeMetadata[] = [
      undefined,
      {},
      { limio_term_end: "" },
      { limio_term_end: "2027-01-15T12:00:00Z" },
    ];
    for (const metadata of bad) expect(termEndFromMetadata(metadata)).toBeUndefined();
  });
});
