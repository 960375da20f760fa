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
  it("recognises the bridge's idempotency key prefix", () => {
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

  it("recognises Limio sources in the object's metadata on API-driven events", () => {
    for (const source of ["shop", "salesforce", "limio", "bridge"]) {
      const r = isLimioInitiated(ev({ metadata: { limio_source: source } }));
      expect(r).toEqual({
        limioInitiated: true,
        reasons: [`metadata.limio_source '${source}' is a Limio source`],
      });
    }
  });

  it("honours configured sources", () => {
    const e = ev({ metadata: { limio_source: "callcentre" } });
    expect(isLimioInitiated(e).limioInitiated).toBe(false);
    expect(isLimioInitiated(e).reasons).toEqual(["metadata.limio_source 'callcentre' is not a Limio source"]);
    expect(isLimioInitiated(e, { limioSources: ["callcentre"] }).limioInitiated).toBe(true);
    expect(
      isLimioInitiated(ev({ metadata: { limio_source: "shop" } }), { limioSources: ["callcentre"] })
        .limioInitiated,
    ).toBe(false);
  });

  it("reads an invoice's inherited subscription metadata", () => {
    const invoice = {
      object: "invoice",
      metadata: {},
      parent: { subscription_details: { metadata: { limio_source: "shop" } } },
    };
    expect(isLimioInitiated(ev(invoice)).reasons).toEqual([
      "parent.subscription_details.metadata.limio_source 'shop' is a Limio source",
    ]);
  });

  it("never treats Stripe's own events (renewals, dunning) as Limio-initiated", () => {
    const renewal = ev({ metadata: { limio_source: "shop" } }, { id: null, idempotency_key: null });
    expect(isLimioInitiated(renewal)).toEqual({
      limioInitiated: false,
      reasons: ["metadata.limio_source 'shop' ignored: Stripe raised this event itself (request.id null)"],
    });
  });

  it("falls back to metadata when the event carries no request", () => {
    expect(isLimioInitiated(ev({ metadata: { limio_source: "shop" } }, null)).limioInitiated).toBe(true);
  });

  it("explains a plain Stripe-side change", () => {
    expect(isLimioInitiated(ev({ metadata: {} }))).toEqual({
      limioInitiated: false,
      reasons: ["no Limio metadata or idempotency key"],
    });
  });

  it("reports both reasons when key and metadata agree, and a custom prefix", () => {
    const both = ev({ metadata: { limio_source: "shop" } }, { id: "req_1", idempotency_key: "limio:x" });
    expect(isLimioInitiated(both).reasons).toHaveLength(2);
    expect(
      isLimioInitiated(ev({}, { id: "r", idempotency_key: "acme:1" }), { idempotencyPrefix: "acme:" })
        .limioInitiated,
    ).toBe(true);
  });
});
