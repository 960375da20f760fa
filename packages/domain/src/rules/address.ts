import type { z } from "zod";
import { DomainRuleError, type FieldError } from "../errors.ts";
import type { AddressType, LimioAddress, limioChangeAddressOrderSchema } from "../orders/schemas.ts";

/** A change_address order's fields (the schema's: parse-limio-order.ts imports these rules). */
type LimioChangeAddressOrder = z.infer<typeof limioChangeAddressOrderSchema>;

/**
 * change_address → Stripe Customer update (Limio's Stripe plugin behaviour): billing → `address`,
 * delivery → `shipping {name, phone, address}`, all → both; name, phone and email follow. Only
 * fields the order carries are sent: an absent field must not blank what Stripe has.
 *
 * Which address each side gets ({@link resolveAddressChange}) is the one answer both the writer
 * (Stripe) and the sync (Limio's billing/delivery address rows) use, so they cannot disagree:
 * `address` is the address of the type (both sides for `all`); `billingDetails` is only ever the
 * billing address (customer.address) and `deliveryDetails` only ever the delivery address
 * (customer.shipping). A field the type does not apply is refused by name, never dropped.
 * An order without a type gets the configured one (the seed says "configured").
 */

/** Used when neither the order nor the writer's configuration says which address changes. */
export const DEFAULT_ADDRESS_TYPE: AddressType = "billing";
export type AddressUpdateOptions = { defaultAddressType?: AddressType };

/** The fields of a change_address order that say which address changes. */
export type AddressChangeFields = Pick<
  LimioChangeAddressOrder,
  "type" | "address" | "billingDetails" | "deliveryDetails"
>;

/** What a change_address applies: the same in Stripe and in the Limio store. */
export type AddressChange = {
  type: AddressType;
  /** Stripe customer.address; Limio's billing address. */
  billing?: LimioAddress;
  /** Stripe customer.shipping; Limio's delivery address. */
  delivery?: LimioAddress;
};

type Source = "address" | "billingDetails" | "deliveryDetails";
const SOURCES: readonly Source[] = ["address", "billingDetails", "deliveryDetails"];

/** Which field gives each side's address for `type` (undefined: the order has none for it). */
function sourcesFor(o: AddressChangeFields, type: AddressType): { billing?: Source; delivery?: Source } {
  const first = (...names: Source[]) => names.find((n) => o[n] !== undefined);
  // `all` with one address sets both sides to it; with both details, each side gets its own.
  const billing =
    type === "delivery"
      ? undefined
      : type === "all"
        ? first("address", "billingDetails", "deliveryDetails")
        : first("address", "billingDetails");
  const delivery =
    type === "billing"
      ? undefined
      : type === "all"
        ? first("deliveryDetails", "address", "billingDetails")
        : first("address", "deliveryDetails");
  return { ...(billing ? { billing } : {}), ...(delivery ? { delivery } : {}) };
}

/**
 * The type an order without one asks for, from the details it carries: deliveryDetails alone →
 * delivery, billingDetails alone → billing, both → all. Undefined when it sends `address`
 * (Limio's own shape): then the writer's configured type applies.
 */
export function impliedAddressType(o: AddressChangeFields): AddressType | undefined {
  if (o.type) return o.type;
  if (o.address) return undefined;
  if (o.billingDetails && o.deliveryDetails) return "all";
  if (o.deliveryDetails) return "delivery";
  if (o.billingDetails) return "billing";
  return undefined;
}

// The same address sent twice (an order normalised by an earlier gateway lifted the details into
// `address`) asks for nothing more: not a conflict.
const sameAddress = (a: LimioAddress | undefined, b: LimioAddress | undefined) =>
  a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);

function unusedMessage(name: Source, type: AddressType | undefined): string {
  if (type === undefined)
    return "sent with `address` and no `type`: what it changes would depend on the writer's configured type; send a type";
  if (name === "deliveryDetails" && type === "billing")
    return "type billing changes only the billing address (customer.address); send type delivery or all to change the delivery address";
  if (name === "billingDetails" && type === "delivery")
    return "type delivery changes only the delivery address (customer.shipping); send type billing or all to change the billing address";
  return `\`address\` already gives the ${name === "billingDetails" ? "billing" : "delivery"} address for type ${type}; send one of them`;
}

/** Why an order's address fields cannot be applied: malformed (`invalid`), or a field the type does not apply (`unsupported`). */
export type AddressChangeRefusals = { invalid: FieldError[]; unsupported: FieldError[] };

/**
 * Every reason the order's address fields cannot be applied as they are, by field: a field the
 * type does not apply, no address for a side, an address without any address line, a delivery
 * address without a recipient name (Stripe requires shipping.name). `type` undefined: the order
 * sends `address` without a type, which any configured type applies.
 */
export function addressChangeRefusals(
  o: AddressChangeFields & Pick<LimioChangeAddressOrder, "customerDetails">,
  type: AddressType | undefined,
): AddressChangeRefusals {
  const used: { billing?: Source; delivery?: Source } = type
    ? sourcesFor(o, type)
    : o.address
      ? { billing: "address" }
      : {};
  const usedNames = [used.billing, used.delivery].filter((n): n is Source => n !== undefined);
  if (usedNames.length === 0) {
    const fields = {
      billing: "address or billingDetails",
      delivery: "address or deliveryDetails",
      all: "address, billingDetails or deliveryDetails",
    }[type ?? "all"];
    return {
      invalid: [{ path: "address", message: `required for change_address: ${fields}` }],
      unsupported: [],
    };
  }
  const invalid: FieldError[] = [];
  const unsupported: FieldError[] = [];
  for (const name of SOURCES) {
    if (o[name] === undefined || usedNames.includes(name)) continue;
    if (usedNames.some((u) => sameAddress(o[u], o[name]))) continue;
    unsupported.push({ path: name, message: unusedMessage(name, type) });
  }
  for (const name of new Set(usedNames)) {
    if (Object.keys(stripeAddress(o[name]!)).length === 0) {
      invalid.push({
        path: name,
        message: "carries no address fields (address1, address2, city, state, postalCode, country)",
      });
    }
  }
  const delivery = used.delivery;
  if (delivery) {
    const contact = used.billing ? o[used.billing] : undefined;
    const name = fullName(o[delivery]!) ?? fullName(contact ?? {}) ?? fullName(o.customerDetails ?? {});
    if (!name) {
      invalid.push({
        path: delivery,
        message: "a delivery address needs firstName or lastName (Stripe requires a recipient name)",
      });
    }
  }
  invalid.push(...changeAddressTooLong(o, used));
  return { invalid, unsupported };
}

/**
 * Stripe's maxLength for the customer fields the bridge sends (POST /v1/customers and
 * /v1/customers/{customer}, OpenAPI spec3): a longer value is a permanent Stripe 400 after the
 * order was accepted, so the order is refused first, naming the field the value came from.
 */
export const STRIPE_CUSTOMER_MAX_LENGTH = {
  name: 256,
  phone: 20,
  email: 512,
  shipping: 5000,
  address: 5000,
} as const;

const ADDRESS_LINES = [
  ["address1", "line1"],
  ["address2", "line2"],
  ["city", "city"],
  ["state", "state"],
  ["postalCode", "postal_code"],
] as const;

type Sent = { path: string; stripe: string; value: string | undefined; max: number };

/** customer.name (or shipping.name) from an object's firstName/lastName, named by its longer part. */
function nameSent(
  prefix: string,
  o: Pick<LimioAddress, "firstName" | "lastName">,
  stripe: string,
  max: number,
): Sent {
  const part = (o.lastName?.length ?? 0) > (o.firstName?.length ?? 0) ? "lastName" : "firstName";
  return { path: `${prefix}.${part}`, stripe, value: fullName(o), max };
}

function linesSent(prefix: string, a: LimioAddress, stripe: "address" | "shipping.address"): Sent[] {
  return ADDRESS_LINES.map(([limio, field]) => ({
    path: `${prefix}.${limio}`,
    stripe: `customer.${stripe}.${field}`,
    value: present(a[limio]) ? a[limio] : undefined,
    max: STRIPE_CUSTOMER_MAX_LENGTH.address,
  }));
}

function tooLong(sent: Sent[]): FieldError[] {
  return sent
    .filter((s) => s.value !== undefined && s.value.trim().length > s.max)
    .map((s) => ({
      path: s.path,
      message: `${s.value!.trim().length} characters as ${s.stripe}; Stripe allows at most ${s.max}`,
    }));
}

type Details = Pick<LimioAddress, "firstName" | "lastName" | "email" | "phone">;

/**
 * The new order's customer fields longer than Stripe takes, as the writer sends them
 * (stripe-writer customerDetails(): name and phone from customerDetails else billingDetails).
 */
export function newOrderCustomerRefusals(o: {
  customerDetails?: Details | undefined;
  billingDetails: LimioAddress;
  deliveryDetails?: LimioAddress | undefined;
}): FieldError[] {
  const details = o.customerDetails ?? {};
  const nameFrom = fullName(details) ? "customerDetails" : "billingDetails";
  const phoneFrom = details.phone ? "customerDetails" : "billingDetails";
  const emailFrom = details.email ? "customerDetails" : "billingDetails";
  const pick = (from: string) => (from === "customerDetails" ? details : o.billingDetails);
  const sent: Sent[] = [
    nameSent(nameFrom, pick(nameFrom), "customer.name", STRIPE_CUSTOMER_MAX_LENGTH.name),
    {
      path: `${phoneFrom}.phone`,
      stripe: "customer.phone",
      value: pick(phoneFrom).phone || undefined,
      max: STRIPE_CUSTOMER_MAX_LENGTH.phone,
    },
    {
      path: `${emailFrom}.email`,
      stripe: "customer.email",
      value: pick(emailFrom).email || undefined,
      max: STRIPE_CUSTOMER_MAX_LENGTH.email,
    },
    ...linesSent("billingDetails", o.billingDetails, "address"),
  ];
  if (o.deliveryDetails) {
    const d = o.deliveryDetails;
    sent.push(
      nameSent("deliveryDetails", d, "customer.shipping.name", STRIPE_CUSTOMER_MAX_LENGTH.shipping),
      {
        path: "deliveryDetails.phone",
        stripe: "customer.shipping.phone",
        value: d.phone || undefined,
        max: STRIPE_CUSTOMER_MAX_LENGTH.shipping,
      },
      ...linesSent("deliveryDetails", d, "shipping.address"),
    );
  }
  return tooLong(sent);
}

/** A change_address's customer fields longer than Stripe takes, as customerUpdateOf sends them. */
function changeAddressTooLong(
  o: AddressChangeFields & Pick<LimioChangeAddressOrder, "customerDetails">,
  used: { billing?: Source; delivery?: Source },
): FieldError[] {
  const c = (used.billing ?? used.delivery)!;
  const contact = o[c]!;
  const nameFrom = fullName(contact) ? c : "customerDetails";
  const sent: Sent[] = [
    nameSent(
      nameFrom,
      nameFrom === c ? contact : (o.customerDetails ?? {}),
      "customer.name",
      STRIPE_CUSTOMER_MAX_LENGTH.name,
    ),
    {
      path: `${c}.phone`,
      stripe: "customer.phone",
      value: present(contact.phone) ? contact.phone : undefined,
      max: STRIPE_CUSTOMER_MAX_LENGTH.phone,
    },
    {
      path: `${c}.email`,
      stripe: "customer.email",
      value: present(contact.email) ? contact.email : undefined,
      max: STRIPE_CUSTOMER_MAX_LENGTH.email,
    },
  ];
  if (used.billing) sent.push(...linesSent(used.billing, o[used.billing]!, "address"));
  if (used.delivery && used.delivery !== used.billing) {
    const d = o[used.delivery]!;
    sent.push(
      nameSent(used.delivery, d, "customer.shipping.name", STRIPE_CUSTOMER_MAX_LENGTH.shipping),
      {
        path: `${used.delivery}.phone`,
        stripe: "customer.shipping.phone",
        value: present(d.phone) ? d.phone : undefined,
        max: STRIPE_CUSTOMER_MAX_LENGTH.shipping,
      },
      ...linesSent(used.delivery, d, "shipping.address"),
    );
  }
  // One refusal per field, even when a side's address is both customer.address and shipping.
  const seen = new Set<string>();
  return tooLong(sent).filter((e) => !seen.has(e.path) && seen.add(e.path));
}

/**
 * What a change_address order applies once its type is known (the order's, else `defaultType`).
 * Throws a DomainRuleError naming the fields when it cannot be applied as it is.
 */
export function resolveAddressChange(
  o: AddressChangeFields & Pick<LimioChangeAddressOrder, "customerDetails">,
  defaultType: AddressType = DEFAULT_ADDRESS_TYPE,
): AddressChange {
  const type = impliedAddressType(o) ?? defaultType;
  const { invalid, unsupported } = addressChangeRefusals(o, type);
  const errors = [...unsupported, ...invalid];
  if (errors.length > 0) {
    throw new DomainRuleError("unsupported_field", errors.map((e) => `${e.path}: ${e.message}`).join("; "));
  }
  const { billing, delivery } = sourcesFor(o, type);
  return {
    type,
    ...(billing ? { billing: o[billing]! } : {}),
    ...(delivery ? { delivery: o[delivery]! } : {}),
  };
}

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
  return customerUpdateOf(resolveAddressChange(order, options.defaultAddressType), order);
}

/** The Stripe customer update for a resolved change; identity from the billing side first. */
export function customerUpdateOf(
  change: AddressChange,
  order: Pick<LimioChangeAddressOrder, "customerDetails">,
): StripeCustomerAddressUpdate {
  const contact = (change.billing ?? change.delivery)!;
  const name = fullName(contact) ?? fullName(order.customerDetails ?? {});
  const update: StripeCustomerAddressUpdate = {};
  if (change.billing) update.address = stripeAddress(change.billing);
  if (change.delivery) {
    const d = change.delivery;
    // Stripe requires a recipient name on shipping (checked by addressChangeRefusals).
    const shippingName = fullName(d) ?? name;
    if (!shippingName)
      throw new DomainRuleError("shipping_name_required", "a delivery address needs firstName or lastName");
    update.shipping = {
      name: shippingName,
      ...(present(d.phone) ? { phone: d.phone } : {}),
      address: stripeAddress(d),
    };
  }
  if (name) update.name = name;
  if (present(contact.phone)) update.phone = contact.phone;
  if (present(contact.email)) update.email = contact.email;
  return update;
}
