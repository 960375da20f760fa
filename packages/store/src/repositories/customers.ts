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
