import { describe, expect, it } from "vitest";
import * as domain from "./index.ts";

describe("package entry", () => {
  it("exports the contracts and rules other packages use", () => {
    for (const name of [
      "envelopeSchema",
      "limioSubscriptionId",
      "generateLimioReference",
      "isStripeId",
      "parseLimioOrder",
      "limioOrderSchema",
      "parseCatalog",
      "messageSchemas",
      "parseMessageData",
      "stripeEventKey",
      "toMinorUnits",
      "buildPriceParams",
      "switchDirection",
      "buildSubscriptionPatch",
      "reconcileSchedules",
      "isLimioInitiated",
      "buildCustomerAddressUpdate",
    ]) {
      expect(domain, name).toHaveProperty(name);
    }
  });
});

describe("envelopeSchema", () => {
  const envelope = {
    id: "m1",
    type: "limio.sync.requested",
    version: 1,
    occurredAt: "2026-11-21T10:00:00.000+00:00",
    source: "ingest-gateway",
    correlationId: "c1",
    data: {},
  };
  it("accepts a valid envelope and refuses a non-positive version or a missing correlation id", () => {
    expect(domain.envelopeSchema.safeParse(envelope).success).toBe(true);
    expect(domain.envelopeSchema.safeParse({ ...envelope, version: 0 }).success).toBe(false);
    expect(domain.envelopeSchema.safeParse({ ...envelope, correlationId: "" }).success).toBe(false);
  });
});
