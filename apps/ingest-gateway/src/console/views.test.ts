import { describe, expect, it } from "vitest";
import { cookieValue, sessionCookie } from "./session.ts";
import { compareWithStripe, orderTimeline, redactSecrets, stripeIdsIn } from "./views.ts";

const at = (seconds: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, seconds));

describe("orderTimeline", () => {
  it("runs from the request through Stripe's steps and the outcome to Limio's events, in time order", () => {
    const order = {
      id: "order-1",
      reference: "REF",
      type: "new",
      source: "shop",
      status: "failed",
      subscriptionId: "sub-1",
      externalId: null,
      correlationId: null,
      payload: { payment: { clientSecret: "pi_x_secret_y" } },
      outcome: {
        status: "failed",
        action: "none",
        stripe: { subscriptionId: "sub_A" },
        error: { code: "card_declined", message: "Your card was declined." },
        completedAt: at(3).toISOString(),
      },
      createdAt: at(0),
      updatedAt: at(3),
    };
    const steps = [
      { step: "subscription", result: { id: "sub_A", latest_invoice: "in_B" }, completedAt: at(2) },
      { step: "customer", result: "cus_C", completedAt: at(1) },
    ];
    const events = [
      { id: "e1", type: "order.failed", source: "shop", causeId: "m1", changes: {}, createdAt: at(4) },
    ];
    const timeline = orderTimeline(order, steps, events);
    expect(timeline.map((e) => `${e.stage}: ${e.title}`)).toEqual([
      "request: new order received from shop",
      "stripe: Stripe step: customer · cus_C",
      "stripe: Stripe step: subscription · sub_A · in_B",
      "stripe: Writer outcome: failed (none)",
      "limio: Limio: order.failed (shop)",
    ]);
    expect(JSON.stringify(timeline)).not.toContain("pi_x_secret_y");
    expect(timeline[3]?.detail).toMatchObject({ error: { code: "card_declined" } });
  });
});

describe("compareWithStripe", () => {
  it("reads the billing period from the subscription item and flags what differs", () => {
    const rows = compareWithStripe({
      status: "active",
      stripeStatus: "active",
      cancelAtTermEnd: false,
      termStart: new Date(1_790_000_000_000),
      termEnd: new Date(1_792_592_000_000),
      stripeCustomerId: "cus_A",
      stripeSubscriptionId: "sub_A",
      stripeScheduleId: null,
      paymentMethod: { stripePaymentMethodId: "pm_A" },
      stripeRaw: {
        id: "sub_A",
        status: "active",
        customer: { id: "cus_A" },
        cancel_at_period_end: true,
        default_payment_method: "pm_A",
        schedule: null,
        items: { data: [{ current_period_start: 1_790_000_000, current_period_end: 1_792_592_000 }] },
      },
    });
    const differing = rows.filter((r) => !r.agrees).map((r) => r.field);
    expect(differing).toEqual(["Cancel at term end"]);
  });

  it("shows every Stripe side as missing for a subscription never synced", () => {
    const rows = compareWithStripe({
      status: "pending",
      stripeStatus: null,
      cancelAtTermEnd: false,
      termStart: null,
      termEnd: null,
      stripeCustomerId: null,
      stripeSubscriptionId: "sub_A",
      stripeScheduleId: null,
      paymentMethod: null,
      stripeRaw: null,
    });
    expect(rows.find((r) => r.field === "Stripe subscription")).toMatchObject({
      stripe: null,
      agrees: false,
    });
  });
});

describe("helpers", () => {
  it("finds Stripe ids in nested results and redacts client secrets at any depth", () => {
    expect(stripeIdsIn({ a: ["cus_1", { b: "sub_2" }], c: "not an id", d: "cus_1" })).toEqual([
      "cus_1",
      "sub_2",
    ]);
    expect(redactSecrets({ outer: [{ clientSecret: "x", keep: 1 }], client_secret: "y" })).toEqual({
      outer: [{ clientSecret: "[redacted]", keep: 1 }],
      client_secret: "[redacted]",
    });
  });

  it("reads one cookie among several and clears the session with Max-Age=0", () => {
    expect(cookieValue("a=1; bridge_console=t.o.k; b=2", "bridge_console")).toBe("t.o.k");
    expect(cookieValue("xbridge_console=1", "bridge_console")).toBeUndefined();
    expect(sessionCookie("", { secure: true, maxAgeMs: 0 })).toBe(
      "bridge_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0; Secure",
    );
  });
});
