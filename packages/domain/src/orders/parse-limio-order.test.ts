import { describe, expect, it } from "vitest";
import { limioOrderSchema, parseLimioOrder, stripePaymentRefs } from "./parse-limio-order.ts";

const SUB = "sub-5c3d83c60950014c306865f0ab8c499b";
const OTHER = "sub-00000000000000000000000000000001";
const newOrder = (over: Record<string, unknown> = {}) => ({
  order_type: "new",
  checkoutId: "basket-1",
  country: "GB",
  orderItems: [{ offer: { id: "o1", version: "v1" } }],
  billingDetails: { email: "a@example.com", country: "GB" },
  payment: { type: "stripe" },
  ...over,
});
const errorsOf = (input: unknown) => {
  const r = parseLimioOrder(input);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};

describe("parseLimioOrder", () => {
  it("defaults quantity to 1 and takes the email from billingDetails when customerDetails has none", () => {
    const r = parseLimioOrder(newOrder());
    expect(r.ok && r.order.order_type === "new" && [r.order.orderItems[0]!.quantity, r.order.email]).toEqual([
      1,
      "a@example.com",
    ]);
  });

  it("refuses non-objects and a missing order_type", () => {
    expect(errorsOf(null)).toEqual(["(root): expected a JSON object"]);
    expect(errorsOf([1])).toEqual(["(root): expected a JSON object"]);
    expect(errorsOf({})[0]).toMatch(/^order_type: required; supported: new, cancel_subscription/);
  });

  it("calls an order_type it has never heard of unknown", () => {
    expect(errorsOf({ order_type: "teleport" })[0]).toMatch(
      /^order_type: unknown order_type 'teleport'; supported: new/,
    );
    expect(errorsOf({ order_type: "update_subscription" })[0]).toMatch(
      /unsupported order_type 'update_subscription'/,
    );
  });

  it("names each invalid field", () => {
    expect(errorsOf(newOrder({ orderItems: [] }))).toEqual([
      "orderItems: a new order needs at least one order item",
    ]);
    expect(errorsOf(newOrder({ country: "gb" }))[0]).toMatch(/^country: /);
    expect(errorsOf(newOrder({ orderItems: [{ offer: { id: "o" }, quantity: 0 }] }))[0]).toMatch(
      /^orderItems\.0\.quantity/,
    );
    expect(errorsOf(newOrder({ payment: { paymentMethodId: "card_123" } }))[0]).toMatch(
      /^payment\.paymentMethodId: expected a Stripe paymentMethod id 'pm_…'/,
    );
    expect(errorsOf(newOrder({ billingDetails: {} }))).toEqual([
      "customerDetails.email: required: customerDetails.email or billingDetails.email",
    ]);
    expect(errorsOf(newOrder({ billingDetails: { email: "not-an-email" } }))[0]).toMatch(
      /^billingDetails\.email/,
    );
    expect(errorsOf(newOrder({ billingDetails: { email: "" }, customerDetails: { email: "" } }))).toEqual([
      "customerDetails.email: required: customerDetails.email or billingDetails.email",
    ]);
    // Untouched form fields arrive as "": not given, not invalid.
    expect(
      errorsOf(newOrder({ customerDetails: { email: "" }, deliveryDetails: { email: "", country: "" } })),
    ).toEqual([]);
    expect(errorsOf(newOrder({ subscriptionId: "sub-1" }))[0]).toMatch(
      /^subscriptionId: expected a Limio subscription id/,
    );
  });

  it("normalises forSubscription.id and subscriptionId to one subscriptionId", () => {
    const base = { order_type: "cancel_subscription" };
    const a = parseLimioOrder({ ...base, forSubscription: { id: SUB } });
    const b = parseLimioOrder({ ...base, subscriptionId: SUB });
    expect(a.ok && a.order).toHaveProperty("subscriptionId", SUB);
    expect(b.ok && b.order).toHaveProperty("subscriptionId", SUB);
    expect(errorsOf({ ...base, subscriptionId: SUB, forSubscription: { id: OTHER } })).toEqual([
      `forSubscription.id: '${OTHER}' disagrees with subscriptionId '${SUB}'`,
    ]);
    expect(errorsOf(base)).toEqual(["subscriptionId: required: subscriptionId or forSubscription.id"]);
    expect(errorsOf({ ...base, subscriptionId: SUB, cancelDate: "next week" })[0]).toMatch(/^cancelDate/);
  });

  it("keeps a top-level cancel reason over data.reason", () => {
    const r = parseLimioOrder({
      order_type: "cancel_subscription",
      subscriptionId: SUB,
      reason: "moving",
      data: {},
    });
    expect(r.ok && r.order.order_type === "cancel_subscription" && r.order.reason).toBe("moving");
  });

  it("change_address: requires a valid type and an address, from `address` or the details of its kind", () => {
    const base = { order_type: "change_address", subscriptionId: SUB };
    expect(errorsOf({ ...base, type: "home", address: {} })[0]).toMatch(/^type: /);
    expect(errorsOf({ ...base, type: "billing" })).toEqual([
      "address: required for change_address: address or billingDetails",
    ]);
    expect(errorsOf({ ...base, type: "billing", address: { firstName: "A" } })).toEqual([
      "address: carries no address fields (address1, address2, city, state, postalCode, country)",
    ]);
    // Stripe requires shipping.name: refused here rather than failing in the writer.
    expect(errorsOf({ ...base, type: "delivery", deliveryDetails: { city: "Leeds" } })).toEqual([
      "deliveryDetails: a delivery address needs firstName or lastName (Stripe requires a recipient name)",
    ]);
    const d = parseLimioOrder({
      ...base,
      type: "delivery",
      deliveryDetails: { firstName: "A", city: "Leeds" },
    });
    expect(d.ok && d.order.order_type === "change_address" && d.order.type).toBe("delivery");
    const b = parseLimioOrder({ ...base, type: "all", billingDetails: { lastName: "B", city: "York" } });
    expect(b.ok && b.order.order_type === "change_address" && b.order.type).toBe("all");
  });

  it("change_address without a type: the details sent say which address changes; `address` alone gets the writer's type", () => {
    const base = { order_type: "change_address", subscriptionId: SUB };
    const city = (c: string) => ({ firstName: "A", city: c });
    const typeOf = (o: object) => {
      const r = parseLimioOrder({ ...base, ...o });
      return r.ok && r.order.order_type === "change_address" ? (r.order.type ?? "configured") : r;
    };
    // Only deliveryDetails: the delivery address (customer.shipping), never the billing one.
    expect(typeOf({ deliveryDetails: city("Leeds") })).toBe("delivery");
    expect(typeOf({ billingDetails: city("York") })).toBe("billing");
    expect(typeOf({ billingDetails: city("York"), deliveryDetails: city("Leeds") })).toBe("all");
    expect(typeOf({ address: city("Hull") })).toBe("configured");
    // With `address` and no type, what details would change depends on the writer's configuration.
    expect(errorsOf({ ...base, address: city("Hull"), deliveryDetails: city("Leeds") })).toEqual([
      "deliveryDetails: sent with `address` and no `type`: what it changes would depend on the writer's configured type; send a type",
    ]);
  });

  it("change_address: a field the type does not apply is refused by name, never dropped", () => {
    const base = { order_type: "change_address", subscriptionId: SUB };
    const city = (c: string) => ({ firstName: "A", city: c });
    const refused = (o: object) => {
      const r = parseLimioOrder({ ...base, ...o });
      return r.ok ? [] : [r.code, ...r.errors.map((e) => e.path)];
    };
    expect(
      refused({ type: "billing", billingDetails: city("York"), deliveryDetails: city("Leeds") }),
    ).toEqual(["unsupported_field", "deliveryDetails"]);
    expect(
      refused({ type: "delivery", billingDetails: city("York"), deliveryDetails: city("Leeds") }),
    ).toEqual(["unsupported_field", "billingDetails"]);
    expect(refused({ type: "billing", address: city("Hull"), billingDetails: city("York") })).toEqual([
      "unsupported_field",
      "billingDetails",
    ]);
    expect(
      refused({
        type: "all",
        address: city("Hull"),
        billingDetails: city("York"),
        deliveryDetails: city("Leeds"),
      }),
    ).toEqual(["unsupported_field", "billingDetails"]);
    // The same address twice asks for nothing more (an order an earlier gateway normalised).
    expect(refused({ type: "delivery", address: city("Leeds"), deliveryDetails: city("Leeds") })).toEqual([]);
    expect(refused({ type: "all", billingDetails: city("York"), deliveryDetails: city("Leeds") })).toEqual(
      [],
    );
  });

  it("refuses customer fields longer than Stripe takes (phone 20, name 256, email 512), naming the field sent", () => {
    const phone21 = "+44 7700 900 456 7890"; // 21 characters
    expect(phone21).toHaveLength(21);
    const refusal = (input: unknown) => {
      const r = parseLimioOrder(input);
      return r.ok ? "accepted" : `${r.code} ${r.errors.map((e) => e.path).join(",")}`;
    };
    // customerDetails.phone is what the writer sends as customer.phone, else billingDetails.phone.
    expect(refusal(newOrder({ customerDetails: { phone: phone21 } }))).toBe(
      "invalid_order customerDetails.phone",
    );
    expect(refusal(newOrder({ billingDetails: { email: "a@example.com", phone: phone21 } }))).toBe(
      "invalid_order billingDetails.phone",
    );
    expect(errorsOf(newOrder({ customerDetails: { phone: phone21 } }))).toEqual([
      "customerDetails.phone: 21 characters as customer.phone; Stripe allows at most 20",
    ]);
    // Not sent to customer.phone when customerDetails has one: accepted.
    expect(
      refusal(
        newOrder({
          customerDetails: { phone: "+447700900456" },
          billingDetails: { email: "a@example.com", phone: phone21 },
        }),
      ),
    ).toBe("accepted");
    expect(refusal(newOrder({ customerDetails: { firstName: "A", lastName: "B".repeat(255) } }))).toBe(
      "invalid_order customerDetails.lastName",
    );
    expect(refusal(newOrder({ customerDetails: { firstName: "A", lastName: "B".repeat(254) } }))).toBe(
      "accepted",
    );
    const longEmail = `${"a".repeat(64)}@${Array.from({ length: 8 }, () => "b".repeat(60)).join(".")}.com`;
    expect(longEmail.length).toBeGreaterThan(512);
    expect(refusal(newOrder({ billingDetails: { email: longEmail } }))).toMatch(/billingDetails\.email$/);
    // change_address: the address's phone is customer.phone.
    expect(
      refusal({
        order_type: "change_address",
        subscriptionId: SUB,
        type: "billing",
        address: { city: "York", phone: phone21 },
      }),
    ).toBe("invalid_order address.phone");
    // shipping.phone takes 5000: a long delivery phone is fine when it is not customer.phone.
    expect(
      refusal({
        order_type: "change_address",
        subscriptionId: SUB,
        type: "all",
        billingDetails: { firstName: "A", city: "York" },
        deliveryDetails: { firstName: "A", city: "Hull", phone: phone21 },
      }),
    ).toBe("accepted");
  });

  it("change_offer: takes the offer from `offer` or from a single order item", () => {
    const base = { order_type: "change_offer", subscriptionId: SUB };
    const a = parseLimioOrder({ ...base, orderItems: [{ offer: { id: "o2" } }] });
    expect(a.ok && a.order.order_type === "change_offer" && a.order.offer.id).toBe("o2");
    expect(errorsOf(base)).toEqual(["offer: required: offer or orderItems.0.offer"]);
    // Changed with the field table (decision 015): a second item is refused by its path.
    const two = parseLimioOrder({ ...base, orderItems: [{ offer: { id: "a" } }, { offer: { id: "b" } }] });
    expect(two).toEqual({
      ok: false,
      code: "unsupported_field",
      errors: [{ path: "orderItems.1", message: "not supported: a switch is to exactly one offer" }],
    });
  });

  it("change_payment: a PaymentIntent is refused by name wherever it is, never dropped", () => {
    const base = { order_type: "change_payment", subscriptionId: SUB };
    const refusedAt = (payment: object) => {
      const r = parseLimioOrder({ ...base, payment: { type: "stripe", ...payment } });
      return r.ok ? "accepted" : `${r.code} ${r.errors.map((e) => e.path).join(",")}`;
    };
    expect(refusedAt({ paymentIntentId: "pi_1", paymentMethodId: "pm_1" })).toBe(
      "unsupported_field payment.paymentIntentId",
    );
    expect(refusedAt({ stripe: { paymentIntent: "pi_1" } })).toBe(
      "unsupported_field payment.stripe.paymentIntent",
    );
    expect(refusedAt({ stripe: { payment_intent: "pi_1" } })).toBe(
      "unsupported_field payment.stripe.payment_intent",
    );
    expect(refusedAt({ stripe: { result: { paymentIntent: { id: "pi_1", payment_method: "pm_1" } } } })).toBe(
      "unsupported_field payment.stripe.result.paymentIntent",
    );
    const r = parseLimioOrder({ ...base, payment: { paymentIntentId: "pi_1" } });
    expect(r.ok ? "" : r.errors[0]!.message).toMatch(/a PaymentIntent is not applied by change_payment/);
    // The PaymentMethod paths are applied as before.
    expect(refusedAt({ stripe: { result: { paymentMethod: { id: "pm_1" } } } })).toBe("accepted");
    expect(refusedAt({ paymentMethodId: "pm_1", stripe: { paymentMethod: "pm_1" } })).toBe("accepted");
  });

  it("change_payment: lifts the payment ids (none is fine: the writer starts a SetupIntent)", () => {
    const r = parseLimioOrder({ order_type: "change_payment", subscriptionId: SUB });
    expect(r.ok && r.order.order_type === "change_payment" && r.order.stripePayment).toEqual({});
  });

  it("is idempotent: re-parsing a parsed order gives the same order", () => {
    for (const input of [
      newOrder({ payment: { stripe: { paymentIntent: "pi_123" } } }),
      { order_type: "change_offer", forSubscription: { id: SUB }, orderItems: [{ offer: { id: "o2" } }] },
      { order_type: "cancel_subscription", subscriptionId: SUB, data: { reason: { id: "x" } } },
      {
        order_type: "change_address",
        subscriptionId: SUB,
        deliveryDetails: { firstName: "A", city: "Leeds" },
      },
    ]) {
      const once = parseLimioOrder(input);
      if (!once.ok) throw new Error(JSON.stringify(once.errors));
      const twice = parseLimioOrder(JSON.parse(JSON.stringify(once.order)));
      expect(twice).toEqual(once);
    }
  });
});

describe("stripePaymentRefs", () => {
  it("finds pm_/pi_ ids wherever the shop put them", () => {
    expect(stripePaymentRefs(undefined)).toEqual({});
    expect(stripePaymentRefs({ paymentMethodId: "pm_1", paymentIntentId: "pi_1" })).toEqual({
      paymentMethodId: "pm_1",
      paymentIntentId: "pi_1",
    });
    expect(stripePaymentRefs({ stripe: { payment_method: "pm_2", payment_intent: "pi_2" } })).toEqual({
      paymentMethodId: "pm_2",
      paymentIntentId: "pi_2",
    });
    expect(
      stripePaymentRefs({ stripe: { result: { payment_method: "pm_3", payment_intent: "pi_3" } } }),
    ).toEqual({
      paymentMethodId: "pm_3",
      paymentIntentId: "pi_3",
    });
  });
});

describe("limioOrderSchema", () => {
  it("parses like parseLimioOrder and reports issues with paths", () => {
    expect(limioOrderSchema.parse(newOrder())).toHaveProperty("email", "a@example.com");
    const r = limioOrderSchema.safeParse(newOrder({ orderItems: [{ offer: {} }] }));
    expect(r.success ? null : r.error.issues[0]?.path).toEqual(["orderItems", 0, "offer", "id"]);
    const root = limioOrderSchema.safeParse("x");
    expect(root.success ? null : root.error.issues[0]?.path).toEqual([]);
  });
});

describe("Stripe.js results in payment.stripe.result (issue 13)", () => {
  const withResult = (result: unknown, type = "new") =>
    type === "new"
      ? parseLimioOrder(newOrder({ payment: { type: "stripe", stripe: { result } } }))
      : parseLimioOrder({
          order_type: type,
          subscriptionId: SUB,
          payment: { type: "stripe", stripe: { result } },
        });
  const paymentOf = (r: ReturnType<typeof parseLimioOrder>) => {
    if (!r.ok || (r.order.order_type !== "new" && r.order.order_type !== "change_payment")) {
      throw new Error(JSON.stringify(r));
    }
    return { refs: r.order.stripePayment, kept: r.order.payment };
  };
  // Shapes as Stripe.js resolves them (docs.stripe.com/js): objects, with their client secrets.
  const paymentMethod = {
    id: "pm_1Q0PsIJvEtkwdCNY",
    object: "payment_method",
    type: "card",
    card: { last4: "4242" },
  };
  const paymentIntent = {
    id: "pi_3Q0PsIJvEtkwdCNY",
    object: "payment_intent",
    status: "succeeded",
    client_secret: "pi_3Q0PsIJvEtkwdCNY_secret_abc",
    payment_method: "pm_1Q0PsIJvEtkwdCNY",
  };
  const setupIntent = {
    id: "seti_1Q0PsIJvEtkwdCNY",
    object: "setup_intent",
    status: "succeeded",
    client_secret: "seti_1Q0PsIJvEtkwdCNY_secret_abc",
    payment_method: "pm_1Q0PsIJvEtkwdCNY",
  };

  it("createPaymentMethod's { paymentMethod }: its id, nothing else of the card kept", () => {
    const { refs, kept } = paymentOf(withResult({ paymentMethod }));
    expect(refs).toEqual({ paymentMethodId: "pm_1Q0PsIJvEtkwdCNY" });
    expect(kept?.stripe?.result).toEqual({ paymentMethod: "pm_1Q0PsIJvEtkwdCNY" });
  });

  it("confirmCardPayment's { paymentIntent }: the PaymentIntent to attach, its client_secret dropped", () => {
    const { refs, kept } = paymentOf(withResult({ paymentIntent }));
    expect(refs).toEqual({ paymentIntentId: paymentIntent.id });
    expect(JSON.stringify(kept)).not.toContain("secret");
  });

  it("confirmCardSetup's { setupIntent }: the PaymentMethod it saved, for new orders and change_payment", () => {
    for (const type of ["new", "change_payment"]) {
      const { refs, kept } = paymentOf(withResult({ setupIntent }, type));
      expect(refs).toEqual({ paymentMethodId: "pm_1Q0PsIJvEtkwdCNY" });
      expect(JSON.stringify(kept)).not.toContain("secret");
    }
  });

  it("refuses a SetupIntent that is not confirmed, naming the field", () => {
    expect(
      errorsOf(
        newOrder({
          payment: { stripe: { result: { setupIntent: { ...setupIntent, status: "requires_action" } } } },
        }),
      ),
    ).toEqual([
      expect.stringMatching(
        /^payment\.stripe\.result\.setupIntent\.status: expected a confirmed SetupIntent/,
      ),
    ]);
  });

  it("refuses an { error } result with the field's name", () => {
    const error = { type: "card_error", code: "card_declined", message: "Your card was declined." };
    expect(errorsOf(newOrder({ payment: { type: "stripe", stripe: { result: { error } } } }))).toEqual([
      "payment.stripe.result.error: Stripe.js reported an error (card_declined): the payment was not confirmed, nothing to apply",
    ]);
    expect(
      errorsOf({
        order_type: "change_payment",
        subscriptionId: SUB,
        payment: { stripe: { result: { error } } },
      }),
    ).toHaveLength(1);
  });

  it("a parsed Stripe.js result parses again unchanged", () => {
    for (const result of [{ paymentMethod }, { paymentIntent }, { setupIntent }]) {
      const once = withResult(result);
      if (!once.ok) throw new Error(JSON.stringify(once.errors));
      expect(parseLimioOrder(JSON.parse(JSON.stringify(once.order)))).toEqual(once);
    }
  });
});

describe("Limio's own references and owner (issue 13)", () => {
  it("keeps them as given and refuses malformed ones by name", () => {
    const r = parseLimioOrder(
      newOrder({
        order_reference: "2I2IG4P6R7O0",
        sub_reference: "6BD2OFB0JIE0",
        owner: `id-${"a".repeat(32)}`,
      }),
    );
    expect(r.ok && [r.order.order_reference, r.order.sub_reference, r.order.owner]).toEqual([
      "2I2IG4P6R7O0",
      "6BD2OFB0JIE0",
      `id-${"a".repeat(32)}`,
    ]);
    expect(
      errorsOf(newOrder({ order_reference: "short", sub_reference: "lower5case12", owner: "me" })),
    ).toEqual([
      "order_reference: expected a 12-character reference [A-Z0-9]",
      "sub_reference: expected a 12-character reference [A-Z0-9]",
      "owner: expected a Limio identity id 'id-<32 hex>'",
    ]);
  });
});
