import { describe, expect, it } from "vitest";
import {
  LIMIO_AUTO_RENEW,
  LIMIO_TERM_LENGTH,
  LIMIO_TERM_TYPE,
  offerTermFromMetadata,
  offerTermMetadata,
} from "./metadata-keys.ts";

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
