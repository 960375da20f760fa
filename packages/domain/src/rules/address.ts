import { DomainRuleError } from "../errors.ts";
import type { LimioChangeAddressOrder } from "../orders/parse-limio-order.ts";
import type { AddressType, LimioAddress } from "../orders/schemas.ts";

/**
 * change_address → Stripe Customer update (Limio's Stripe plugin behaviour): billing → `address`,
 * delivery → `shipping {name, phone, address}`, all → both; name, phone and email follow. Only
 * fields the order carries are sent: an absent field must not blank what Stripe has.
 * With type `all`, shipping comes from `deliveryDetails` when the order has them (else from the
 * same address). An order without a type gets the configured one (the seed says "configured").
 */

/** Used when neither the order nor the writer's configuration says which address changes. */
export const DEFAULT_ADDRESS_TYPE: AddressType = "billing";
export type AddressUpdateOptions = { defaultAddressType?: AddressType };

export type StripeAddressParams = {
  line1?: string;
  line2?: string;
  city?: string;
  state?: string;
  postal_code?: string;
  country?: string;
};

export type StripeCustomerAddressUpdate = {
  address?: StripeAddressParams;
  shipping?: { name: string; phone?: string; address: StripeAddressParams };
  name?: string;
  phone?: string;
  email?: string;
};

const present = (v: string | undefined): v is string => typeof v === "string" && v.trim() !== "";

function defined<T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => present(v))) as { [K in keyof T]?: string };
}

export function stripeAddress(a: LimioAddress): StripeAddressParams {
  return defined({
    line1: a.address1,
    line2: a.address2,
    city: a.city,
    state: a.state,
    postal_code: a.postalCode,
    country: a.country,
  });
}

export function fullName(a: Pick<LimioAddress, "firstName" | "lastName">): string | undefined {
  const name = [a.firstName, a.lastName].filter(present).join(" ").trim();
  return name === "" ? undefined : name;
}

export function buildCustomerAddressUpdate(
  order: LimioChangeAddressOrder,
  options: AddressUpdateOptions = {},
): StripeCustomerAddressUpdate {
  const type = order.type ?? options.defaultAddressType ?? DEFAULT_ADDRESS_TYPE;
  const a = order.address;
  const address = stripeAddress(a);
  if (Object.keys(address).length === 0) {
    throw new DomainRuleError("empty_address", "change_address order carries no address fields");
  }
  const name = fullName(a) ?? fullName(order.customerDetails ?? {});
  const phone = present(a.phone) ? a.phone : undefined;
  const email = present(a.email) ? a.email : undefined;
  const update: StripeCustomerAddressUpdate = {};
  if (type === "billing" || type === "all") update.address = address;
  if (type === "delivery" || type === "all") {
    const d =
      type === "all" && order.deliveryDetails && order.deliveryDetails !== a ? order.deliveryDetails : a;
    const shippingAddress = d === a ? address : stripeAddress(d);
    const shippingName = fullName(d) ?? name;
    const shippingPhone = present(d.phone) ? d.phone : d === a ? phone : undefined;
    // Stripe requires a recipient name on shipping.
    if (!shippingName)
      throw new DomainRuleError("shipping_name_required", "a delivery address needs firstName or lastName");
    if (Object.keys(shippingAddress).length === 0) {
      throw new DomainRuleError("empty_address", "deliveryDetails carries no address fields");
    }
    update.shipping = {
      name: shippingName,
      ...(shippingPhone ? { phone: shippingPhone } : {}),
      address: shippingAddress,
    };
  }
  if (name) update.name = name;
  if (phone) update.phone = phone;
  if (email) update.email = email;
  return update;
}
