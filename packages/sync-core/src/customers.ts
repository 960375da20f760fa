import { createHash } from "node:crypto";
import type { LimioAddress } from "@bridge/domain";
import {
  ensureCustomer,
  findCustomerByEmail,
  findCustomerByStripeId,
  linkStripeCustomer,
  type Tx,
  upsertAddress as upsertAddressRow,
} from "@bridge/store";

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** A Limio id derived from a seed: the same order (or Stripe object) always yields the same id. */
export function derivedLimioId(prefix: "cus" | "sub" | "address", seed: string): string {
  return `${prefix}-${createHash("sha256").update(seed).digest("hex").slice(0, 32)}`;
}

const blank = (v: string | undefined | null) => (v === undefined || v === null || v.trim() === "" ? null : v);

function addressColumns(a: LimioAddress) {
  return {
    firstName: blank(a.firstName),
    lastName: blank(a.lastName),
    company: blank(a.company),
    line1: blank(a.address1),
    line2: blank(a.address2),
    city: blank(a.city),
    state: blank(a.state),
    postalCode: blank(a.postalCode),
    country: blank(a.country),
    phone: blank(a.phone),
  };
}

export async function upsertAddress(
  tx: Tx,
  customerId: string,
  type: "billing" | "delivery",
  a: LimioAddress,
) {
  await upsertAddressRow(tx, {
    id: derivedLimioId("address", `${customerId}:${type}`),
    customerId,
    type,
    ...addressColumns(a),
  });
}

/**
 * The Limio customer of a new order: the one already linked to the Stripe customer, else one with
 * the same normalised email, else a new one whose id derives from the order id (a redelivered
 * outcome finds the same customer).
 */
export async function customerForNewOrder(
  tx: Tx,
  input: {
    orderId: string;
    email: string;
    stripeCustomerId?: string | undefined;
    firstName?: string | null;
    lastName?: string | null;
    phone?: string | null;
  },
) {
  const email = normaliseEmail(input.email);
  const byStripe = input.stripeCustomerId ? await findCustomerByStripeId(tx, input.stripeCustomerId) : null;
  const existing = byStripe ?? (await findCustomerByEmail(tx, email));
  if (existing) {
    if (!existing.stripeCustomerId && input.stripeCustomerId) {
      return linkStripeCustomer(tx, existing.id, input.stripeCustomerId);
    }
    return existing;
  }
  return ensureCustomer(tx, {
    id: derivedLimioId("cus", `limio-order:${input.orderId}`),
    email,
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    phone: input.phone ?? null,
    stripeCustomerId: input.stripeCustomerId ?? null,
  });
}
