import type { Stripe } from "@bridge/stripe-client";
import { describe, expect, it } from "vitest";
import { awaitedPaymentVerdict, checkShopPaymentIntent } from "./awaiting-payment.ts";
import { OrderFailure } from "./context.ts";

describe("awaitedPaymentVerdict: what Stripe's state says of a waiting order", () => {
  type Intent = Pick<Stripe.PaymentIntent, "status" | "last_payment_error"> | null;
  const waiting: Intent = { status: "requires_action", last_payment_error: null };
  const failedAuth = {
    status: "requires_payment_method",
    last_payment_error: { code: "payment_intent_authentication_failure", message: "failed" },
  } as Intent;
  const verdict = (invoice: Stripe.Invoice.Status, subscriptionStatus: string, intent: Intent) =>
    awaitedPaymentVerdict({ invoice: { status: invoice }, subscriptionStatus, intent });

  it("paid when the invoice is paid, whatever else says", () => {
    expect(verdict("paid", "active", null)).toEqual({ paid: true });
  });
  it("still waiting while the customer may act", () => {
    expect(verdict("open", "incomplete", waiting)).toBeNull();
  });
  it("failed by name when authentication failed, the invoice is voided or the subscription expired", () => {
    expect(verdict("open", "incomplete", failedAuth)).toMatchObject({
      paid: false,
      code: "payment_intent_authentication_failure",
    });
    expect(verdict("void", "incomplete", waiting)).toMatchObject({ paid: false, code: "payment_abandoned" });
    expect(verdict("open", "incomplete_expired", waiting)).toMatchObject({
      paid: false,
      code: "payment_abandoned",
    });
  });
});

describe("checkShopPaymentIntent", () => {
  const invoice = { customerId: "cus_A", currency: "gbp", amountDue: 2700 };
  const ids = { paymentIntentId: "pi_1", invoiceId: "in_1" };
  const intent = (over: Partial<Stripe.PaymentIntent>) =>
    ({ id: "pi_1", customer: "cus_A", currency: "gbp", amount: 2700, ...over }) as Stripe.PaymentIntent;
  const codeOf = (over: Partial<Stripe.PaymentIntent>) => {
    try {
      checkShopPaymentIntent(intent(over), invoice, ids);
      return "ok";
    } catch (error) {
      expect(error).toBeInstanceOf(OrderFailure);
      expect((error as OrderFailure).stripe).toEqual(ids);
      return (error as OrderFailure).code;
    }
  };
  it("accepts the customer's own PaymentIntent for the whole amount in the invoice's currency", () => {
    expect(codeOf({})).toBe("ok");
  });
  it("names each mismatch", () => {
    expect(codeOf({ customer: "cus_B" })).toBe("payment_intent_foreign");
    expect(codeOf({ customer: null })).toBe("payment_intent_foreign");
    expect(codeOf({ currency: "eur" })).toBe("payment_intent_currency_mismatch");
    expect(codeOf({ amount: 1000 })).toBe("payment_intent_partial");
    expect(codeOf({ amount: 5000 })).toBe("payment_intent_amount_mismatch");
  });
});
