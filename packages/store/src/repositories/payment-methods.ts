import type { Prisma } from "../client.ts";
import type { Db } from "../store.ts";

export type PaymentMethodColumns = Omit<Prisma.PaymentMethodUncheckedCreateInput, "subscriptionId">;

/** The subscription's one payment method (brand, last four, expiry), created or replaced. */
export async function setPaymentMethod(db: Db, subscriptionId: string, method: PaymentMethodColumns) {
  return db.paymentMethod.upsert({
    where: { subscriptionId },
    create: { subscriptionId, ...method },
    update: method,
  });
}

export async function deletePaymentMethod(db: Db, subscriptionId: string) {
  return db.paymentMethod.delete({ where: { subscriptionId } });
}
