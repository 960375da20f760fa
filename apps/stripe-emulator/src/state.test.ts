import { describe, expect, it } from "vitest";
import { parseForm } from "./http/form.ts";
import { State } from "./state.ts";

describe("state ids", () => {
  it("are Stripe-like (prefix + 14+ random chars) and deterministic for a seed", () => {
    const a = new State(42);
    const b = new State(42);
    const idsA = [a.newId("cus", 14), a.newId("sub"), a.newId("in")];
    const idsB = [b.newId("cus", 14), b.newId("sub"), b.newId("in")];
    expect(idsA).toEqual(idsB);
    expect(idsA[0]).toMatch(/^cus_[0-9A-Za-z]{14}$/);
    expect(idsA[1]).toMatch(/^sub_[0-9A-Za-z]{24}$/);
    a.reset();
    expect(a.newId("cus", 14)).toBe(idsA[0]);
    const unseeded = new State();
    expect(unseeded.newId("cus", 14)).not.toBe(new State().newId("cus", 14));
  });
});

describe("form bodies", () => {
  it("parse the SDK's nested encoding", () => {
    const body =
      "items[0][price]=price_1&items[0][quantity]=2&expand[0]=latest_invoice.confirmation_secret&metadata[a]=1&billing_cycle_anchor[type]=now";
    expect(parseForm(body)).toEqual({
      items: [{ price: "price_1", quantity: "2" }],
      expand: ["latest_invoice.confirmation_secret"],
      metadata: { a: "1" },
      billing_cycle_anchor: { type: "now" },
    });
    expect(parseForm("expand[]=a&expand[]=b")).toEqual({ expand: ["a", "b"] });
  });
});
