import { describe, expect, it } from "vitest";
import { relatedStripeIds, stripeEventKey } from "./event-ids.ts";
import { refId, type StripeEventObjectLike } from "./types.ts";

const event = (object: StripeEventObjectLike) => ({ id: "evt_1", data: { object } });

describe("stripeEventKey", () => {
  it("keys a subscription's events and its customer's payment events alike: by the customer id", () => {
    expect(stripeEventKey(event({ object: "subscription", id: "sub_1", customer: "cus_1" }))).toBe("cus_1");
    expect(stripeEventKey(event({ object: "payment_intent", id: "pi_1", customer: "cus_1" }))).toBe("cus_1");
  });

  it("reads an API-2026 invoice's subscription from parent.subscription_details", () => {
    const invoice = {
      object: "invoice",
      id: "in_1",
      customer: "cus_1",
      parent: { type: "subscription_details", subscription_details: { subscription: "sub_2" } },
    };
    expect(stripeEventKey(event(invoice))).toBe("cus_1");
    expect(relatedStripeIds(invoice)).toEqual({
      objectId: "in_1",
      objectType: "invoice",
      customerId: "cus_1",
      invoiceId: "in_1",
      subscriptionId: "sub_2",
    });
    // Expanded subscription object, and the pre-2025 top-level field.
    expect(
      relatedStripeIds({ ...invoice, parent: { subscription_details: { subscription: { id: "sub_3" } } } })
        .subscriptionId,
    ).toBe("sub_3");
    expect(
      relatedStripeIds({ object: "invoice", id: "in_2", subscription: "sub_4", parent: null }).subscriptionId,
    ).toBe("sub_4");
  });

  it("falls back to the subscription (an object without a customer), then to the event id", () => {
    expect(stripeEventKey(event({ object: "subscription_item", id: "si_1", subscription: "sub_5" }))).toBe(
      "sub_5",
    );
    expect(stripeEventKey(event({ object: "invoice", id: "in_1", customer: "cus_9", parent: null }))).toBe(
      "cus_9",
    );
    expect(stripeEventKey(event({ object: "payment_method", id: "pm_1", customer: { id: "cus_8" } }))).toBe(
      "cus_8",
    );
    expect(stripeEventKey(event({ object: "payment_method", id: "pm_1", customer: null }))).toBe("evt_1");
    expect(stripeEventKey(event({ object: "customer", id: "cus_7" }))).toBe("cus_7");
    expect(stripeEventKey(event({ object: "product", id: "prod_1" }))).toBe("evt_1");
  });

  it("extracts related ids for schedules, intents and invoice payments", () => {
    expect(
      relatedStripeIds({
        object: "subscription_schedule",
        id: "sub_sched_1",
        subscription: "sub_1",
        customer: "cus_1",
      }),
    ).toMatchObject({ scheduleId: "sub_sched_1", subscriptionId: "sub_1" });
    expect(
      relatedStripeIds({
        object: "subscription_schedule",
        id: "sub_sched_1",
        subscription: null,
        released_subscription: "sub_5",
      }),
    ).toMatchObject({ subscriptionId: "sub_5" });
    expect(
      relatedStripeIds({ object: "setup_intent", id: "seti_1", customer: "cus_1", payment_method: "pm_1" }),
    ).toEqual({
      objectId: "seti_1",
      objectType: "setup_intent",
      customerId: "cus_1",
      setupIntentId: "seti_1",
      paymentMethodId: "pm_1",
    });
    expect(
      relatedStripeIds({ object: "payment_intent", id: "pi_1", customer: "cus_1", payment_method: null }),
    ).toEqual({
      objectId: "pi_1",
      objectType: "payment_intent",
      customerId: "cus_1",
      paymentIntentId: "pi_1",
    });
    expect(
      relatedStripeIds({
        object: "invoice_payment",
        id: "inpay_1",
        invoice: "in_1",
        payment: { payment_intent: "pi_1" },
      }),
    ).toMatchObject({ invoiceId: "in_1", paymentIntentId: "pi_1" });
    expect(
      relatedStripeIds({ object: "subscription_item", id: "si_1", subscription: "sub_1" }),
    ).toMatchObject({
      subscriptionId: "sub_1",
    });
    expect(
      relatedStripeIds({
        object: "subscription",
        id: "sub_1",
        customer: "cus_1",
        schedule: { id: "sub_sched_1" },
        latest_invoice: "in_1",
        default_payment_method: "pm_1",
      }),
    ).toEqual({
      objectId: "sub_1",
      objectType: "subscription",
      customerId: "cus_1",
      subscriptionId: "sub_1",
      scheduleId: "sub_sched_1",
      invoiceId: "in_1",
      paymentMethodId: "pm_1",
    });
  });
});

describe("refId", () => {
  it("reads ids from strings and expanded objects, ignoring empties", () => {
    expect(refId("x")).toBe("x");
    expect(refId({ id: "y" })).toBe("y");
    expect(refId("")).toBeUndefined();
    expect(refId(null)).toBeUndefined();
    expect(refId({ id: 3 })).toBeUndefined();
  });
});
