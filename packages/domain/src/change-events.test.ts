import { describe, expect, it } from "vitest";
import {
  beforeAfter,
  changeKindOfAuditType,
  subscriptionChangedEnvelope,
  subscriptionChangeKinds,
} from "./change-events.ts";

const envelope = {
  id: "7f1c2d9e-0000-4000-8000-000000000001",
  type: "limio.subscription.changed",
  version: 1,
  occurredAt: "2026-02-15T12:00:00.000Z",
  source: "sync-consumer",
  correlationId: "evt_1",
  data: {
    subscriptionId: `sub-${"a".repeat(32)}`,
    sequence: 3,
    kind: "status",
    before: { status: "active" },
    after: { status: "cancelled" },
    cause: { source: "stripe", messageId: "evt_1", stripeEventId: "evt_1" },
    auditEventId: `event-${"b".repeat(32)}`,
    occurredAt: "2026-02-15T12:00:00.000Z",
  },
};

describe("subscription change events", () => {
  it("maps every change kind to its audit Event type and back; other audit types are not changes", () => {
    for (const [kind, type] of Object.entries(subscriptionChangeKinds)) {
      expect(changeKindOfAuditType(type)).toBe(kind);
    }
    expect(changeKindOfAuditType("order.applied")).toBeUndefined();
    expect(changeKindOfAuditType("customer.address_changed")).toBeUndefined();
  });

  it("splits the audit `{ field: { from, to } }` into before and after; context goes to after only", () => {
    expect(
      beforeAfter({
        status: { from: "active", to: "cancelled" },
        endedAt: { from: null, to: "x" },
        operator: "ana",
      }),
    ).toEqual({
      before: { status: "active", endedAt: null },
      after: { status: "cancelled", endedAt: "x", operator: "ana" },
    });
  });

  it("validates the envelope: sequence from 1, a known kind, a Stripe event id only when it is one", () => {
    expect(subscriptionChangedEnvelope.parse(envelope).data.sequence).toBe(3);
    const broken = (data: Record<string, unknown>) =>
      subscriptionChangedEnvelope.safeParse({ ...envelope, data: { ...envelope.data, ...data } }).success;
    expect(broken({ sequence: 0 })).toBe(false);
    expect(broken({ kind: "address" })).toBe(false);
    expect(broken({ subscriptionId: "sub-1" })).toBe(false);
    expect(broken({ cause: { source: "stripe", stripeEventId: "msg-1" } })).toBe(false);
    expect(subscriptionChangedEnvelope.safeParse({ ...envelope, version: 2 }).success).toBe(false);
  });
});
