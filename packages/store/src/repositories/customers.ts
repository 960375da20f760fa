import type { Prisma } from "../client.ts";
import type { Db } from "../store.ts";

export async function findCustomer(db: Db, id: string) {
  return db.customer.findUnique({ where: { id }, include: { addresses: true } });
}

export async function findCustomerByStripeId(db: Db, stripeCustomerId: string) {
  return db.customer.findUnique({ where: { stripeCustomerId } });
}

/** Create the customer once; a second call with the same id keeps the existing row. */
export async function ensureCustomer(db: Db, data: Prisma.CustomerUncheckedCreateInput) {
  return db.customer.upsert({ where: { id: data.id }, create: data, update: {} });
}

export async function linkStripeCustomer(db: Db, id: string, stripeCustomerId: string) {
  return db.customer.update({ where: { id }, data: { stripeCustomerId } });
}

/** The oldest customer with this email, compared case-insensitively. */
export async function findCustomerByEmail(db: Db, email: string) {
  return db.customer.findFirst({
    where: { email: { equals: email, mode: "insensitive" } },
    orderBy: { createdAt: "asc" },
  });
}

export async function updateCustomer(db: Db, id: string, data: Prisma.CustomerUncheckedUpdateInput) {
  return db.customer.update({ where: { id }, data });
}

export type AddressColumns = Omit<Prisma.AddressUncheckedCreateInput, "id" | "customerId" | "type">;

/** A customer's address of one type (billing or delivery): created with `id`, else updated. */
export async function upsertAddress(
  db: Db,
  address: { id: string; customerId: string; type: "billing" | "delivery" } & AddressColumns,
) {
  const { id, customerId, type, ...columns } = address;
  return db.address.upsert({
    where: { customerId_type: { customerId, type } },
    create: { id, customerId, type, ...columns },
    update: columns,
  });
}
