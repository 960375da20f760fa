import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { signPayload } from "./webhooks.ts";

const stripe = new Stripe("sk_test_signing");

describe("webhook signatures", () => {
  it("are exactly Stripe's: the SDK's own test header matches, constructEvent accepts", () => {
    const payload = JSON.stringify({ id: "evt_1", object: "event", type: "customer.created" });
    const secret = "whsec_test_secret";
    const timestamp = 1_795_000_000;
    const ours = signPayload(payload, secret, timestamp);
    expect(ours).toBe(stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }));
    const now = signPayload(payload, secret);
    expect(stripe.webhooks.constructEvent(payload, now, secret).id).toBe("evt_1");
  });

  it("fail verification with another secret or a changed body", () => {
    const payload = JSON.stringify({ id: "evt_2", object: "event" });
    const header = signPayload(payload, "whsec_right");
    expect(() => stripe.webhooks.constructEvent(payload, header, "whsec_wrong")).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() =>
      stripe.webhooks.constructEvent(payload.replace("evt_2", "evt_3"), header, "whsec_right"),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });
});
