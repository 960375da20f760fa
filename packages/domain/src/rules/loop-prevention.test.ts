import { describe, expect, it } from "vitest";
import type { StripeEventLike } from "../stripe/types.ts";
import { isLimioInitiated } from "./loop-prevention.ts";

const ev = (
  object: Record<string, unknown>,
  request: StripeEventLike["request"] = { id: "req_1", idempotency_key: null },
) => ({
  data: { object: { object: "subscription", id: "sub_1", ...object } },
  request,
});

describe("isLimioInitiated", () => {
  it("recognises the bridge's idempotency key prefix, and only it", () => {
    expect(
      isLimioInitiated(ev({}, { id: "req_1", idempotency_key: "limio:order-1:create-subscription" })),
    ).toEqual({
      limioInitiated: true,
      reasons: ["request.idempotency_key starts with 'limio:'"],
    });
    expect(isLimioInitiated(ev({}, { id: "req_1", idempotency_key: "b1c2-uuid" })).limioInitiated).toBe(
      false,
    );
  });

  it("syncs the shop confirming the first payment in the browser, though the objects carry Limio metadata", () => {
    const invoicePaid = {
      object: "invoice",
      metadata: {},
      parent: { subscription_details: { metadata: { limio_source: "shop" } } },
    };
    const check = isLimioInitiated(ev(invoicePaid, { id: "req_browser", idempotency_key: "stripe-js-uuid" }));
    expect(check.limioInitiated).toBe(false);
    expect(check.reasons).toEqual([
      "no 'limio:' idempotency key: an API request that is not the bridge's (shop checkout, Dashboard, another integration)",
      "parent.subscription_details.metadata.limio_source 'shop' noted; the object came from Limio, this change did not",
    ]);
  });

  it("never treats Stripe's own events (renewals, dunning) as Limio-initiated", () => {
    const renewal = ev({ metadata: { limio_source: "shop" } }, { id: null, idempotency_key: null });
    expect(isLimioInitiated(renewal).limioInitiated).toBe(false);
    expect(isLimioInitiated(renewal).reasons[0]).toContain("Stripe raised it itself");
  });

  it("syncs a Dashboard edit of a subscription the bridge created", () => {
    expect(isLimioInitiated(ev({ metadata: { limio_source: "salesforce" } })).limioInitiated).toBe(false);
  });

  it("treats an event with no request as not Limio-initiated", () => {
    expect(isLimioInitiated(ev({ metadata: { limio_source: "shop" } }, null))).toMatchObject({
      limioInitiated: false,
      reasons: ["no 'limio:' idempotency key: the event carries no request", expect.any(String)],
    });
  });

  it("accepts a custom prefix", () => {
    expect(
      isLimioInitiated(ev({}, { id: "r", idempotency_key: "acme:1" }), { idempotencyPrefix: "acme:" })
        .limioInitiated,
    ).toBe(true);
    expect(
      isLimioInitiated(ev({}, { id: "r", idempotency_key: "limio:1" }), { idempotencyPrefix: "acme:" })
        .limioInitiated,
    ).toBe(false);
  });
});
