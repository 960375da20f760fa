import { createHash } from "node:crypto";
import type { LimioAddress } from "@bridge/domain";
import type { Prisma } from "@bridge/store";

type Tx = Prisma.TransactionClient;

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** A Limio id derived from a seed: the same order (or Stripe object) always yields the same id. */
export function derivedLimioId(prefix: "cus" | "sub" | "address", seed: string): string {
  return `${prefix}-${createHash("sha256").update(seed).digest("hex").slice(0, 32)}`;
}

const blank = (v: string | undefined | null) => (v === undefined || v === null || v.trim() === "" ? null : v);

export function addressColumns(a: LimioAddress) {
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
  const columns = addressColumns(a);
  await tx.address.upsert({
    where: { customerId_type: { customerId, type } },
    create: { id: derivedLimioId("address", `${customerId}:${type}`), customerId, type, ...columns },
    update: columns,
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
  const byStripe = input.stripeCustomerId
    ? await tx.customer.findUnique({ where: { stripeCustomerId: input.stripeCustomerId } })
    : null;
  const existing =
    byStripe ??
    (await tx.customer.findFirst({
      where: { email: { equals: email, mode: "insensitive" } },
      orderBy: { createdAt: "asc" },
    }));
  if (existing) {
    if (!existing.stripeCustomerId && input.stripeCustomerId) {
      return tx.customer.update({
        where: { id: existing.id },
        data: { stripeCustomerId: input.stripeCustomerId },
      });
    }
    return existing;
  }
  const id = derivedLimioId("cus", `limio-order:${input.orderId}`);
  return tx.customer.upsert({
    where: { id },
    update: {},
    create: {
      id,
      email,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      phone: input.phone ?? null,
      stripeCustomerId: input.stripeCustomerId ?? null,
    },
  });
}
