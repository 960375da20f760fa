import { describe, expect, it } from "vitest";
import { DomainRuleError } from "../errors.ts";
import { type LimioChangeAddressOrder, parseLimioOrder } from "../orders/parse-limio-order.ts";
import { buildCustomerAddressUpdate, resolveAddressChange } from "./address.ts";

const order = (type: string, address: object, extra: object = {}): LimioChangeAddressOrder => {
  const r = parseLimioOrder({
    order_type: "change_address",
    subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
    type,
    address,
    ...extra,
  });
  if (!r.ok || r.order.order_type !== "change_address") throw new Error(JSON.stringify(r));
  return r.order;
};
const ada = {
  firstName: "Ada",
  lastName: "Lovelace",
  email: "ada@example.com",
  phone: "+447700900456",
  address1: "7 Keble Road",
  address2: "",
  city: "Oxford",
  postalCode: "OX1 3QG",
  country: "GB",
};
const stripeAddr = { line1: "7 Keble Road", city: "Oxford", postal_code: "OX1 3QG", country: "GB" };

describe("buildCustomerAddressUpdate", () => {
  it("billing → address, plus name, phone, email", () => {
    expect(buildCustomerAddressUpdate(order("billing", ada))).toEqual({
      address: stripeAddr,
      name: "Ada Lovelace",
      phone: "+447700900456",
      email: "ada@example.com",
    });
  });

  it("delivery → shipping with name and phone", () => {
    const u = buildCustomerAddressUpdate(order("delivery", ada));
    expect(u).toEqual({
      shipping: { name: "Ada Lovelace", phone: "+447700900456", address: stripeAddr },
      name: "Ada Lovelace",
      phone: "+447700900456",
      email: "ada@example.com",
    });
    expect(u).not.toHaveProperty("address");
  });

  it("all → both", () => {
    const u = buildCustomerAddressUpdate(
      order("all", { ...ada, state: "Oxfordshire", email: undefined, phone: undefined }),
    );
    expect(u.address).toEqual({ ...stripeAddr, state: "Oxfordshire" });
    expect(u.shipping).toEqual({ name: "Ada Lovelace", address: { ...stripeAddr, state: "Oxfordshire" } });
    expect(u).not.toHaveProperty("email");
    expect(u).not.toHaveProperty("phone");
  });

  it("takes the name from customerDetails when the address has none", () => {
    const u = buildCustomerAddressUpdate(
      order("delivery", { city: "Leeds" }, { customerDetails: { firstName: "Grace" } }),
    );
    expect(u.shipping?.name).toBe("Grace");
  });

  it("refuses a delivery address without a name, and an empty address", () => {
    // The parser refuses these at the gateway; the writer's rule refuses them too.
    const bare = (type: "delivery" | "billing", address: object) =>
      ({ order_type: "change_address", subscriptionId: "sub-x", type, address }) as LimioChangeAddressOrder;
    expect(() => buildCustomerAddressUpdate(bare("delivery", { city: "Leeds" }))).toThrow(
      /needs firstName or lastName/,
    );
    expect(() => buildCustomerAddressUpdate(bare("billing", { firstName: "A" }))).toThrow(DomainRuleError);
  });

  it("deliveryDetails alone, without a type: customer.shipping, never customer.address", () => {
    const r = parseLimioOrder({
      order_type: "change_address",
      subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
      deliveryDetails: ada,
    });
    if (!r.ok || r.order.order_type !== "change_address") throw new Error(JSON.stringify(r));
    // Whatever the writer's configured type: the order named the delivery address.
    for (const defaultAddressType of ["billing", "all", undefined] as const) {
      const u = buildCustomerAddressUpdate(r.order, defaultAddressType ? { defaultAddressType } : {});
      expect(u.address).toBeUndefined();
      expect(u.shipping?.address).toEqual(stripeAddr);
    }
    expect(resolveAddressChange(r.order, "billing")).toEqual({ type: "delivery", delivery: ada });
  });

  it("type billing with deliveryDetails is refused by name, not applied halfway", () => {
    const o = {
      order_type: "change_address",
      subscriptionId: "sub-x",
      type: "billing",
      billingDetails: ada,
      deliveryDetails: { ...ada, city: "Hull" },
    } as LimioChangeAddressOrder;
    expect(() => buildCustomerAddressUpdate(o)).toThrow(/^deliveryDetails: type billing changes only/);
  });

  it("all → shipping from deliveryDetails when the order has them, address from the billing side", () => {
    const r = parseLimioOrder({
      order_type: "change_address",
      subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
      type: "all",
      billingDetails: ada,
      deliveryDetails: {
        firstName: "Grace",
        lastName: "Hopper",
        address1: "1 Dock Road",
        city: "Hull",
        country: "GB",
        phone: "+441234",
      },
    });
    if (!r.ok || r.order.order_type !== "change_address") throw new Error(JSON.stringify(r));
    // Also after a JSON round trip, as the writer re-reads the recorded order.
    for (const o of [r.order, JSON.parse(JSON.stringify(r.order))]) {
      const u = buildCustomerAddressUpdate(o);
      expect(u.address).toEqual(stripeAddr);
      expect(u.shipping).toEqual({
        name: "Grace Hopper",
        phone: "+441234",
        address: { line1: "1 Dock Road", city: "Hull", country: "GB" },
      });
      expect(u.name).toBe("Ada Lovelace");
      // The store's rows: each side its own address, as in Stripe.
      const change = resolveAddressChange(o);
      expect([change.billing?.city, change.delivery?.city]).toEqual(["Oxford", "Hull"]);
    }
  });

  it("an order without a type gets the configured one, else billing", () => {
    const r = parseLimioOrder({
      order_type: "change_address",
      subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
      address: ada,
    });
    if (!r.ok || r.order.order_type !== "change_address") throw new Error(JSON.stringify(r));
    expect(Object.keys(buildCustomerAddressUpdate(r.order)).sort()).toEqual([
      "address",
      "email",
      "name",
      "phone",
    ]);
    const delivery = buildCustomerAddressUpdate(r.order, { defaultAddressType: "delivery" });
    expect([delivery.address, delivery.shipping?.address]).toEqual([undefined, stripeAddr]);
    const all = buildCustomerAddressUpdate(r.order, { defaultAddressType: "all" });
    expect([all.address, all.shipping?.address]).toEqual([stripeAddr, stripeAddr]);
    // The order's own type wins over the configuration.
    expect(
      buildCustomerAddressUpdate(order("billing", ada), { defaultAddressType: "delivery" }).shipping,
    ).toBeUndefined();
  });
});
