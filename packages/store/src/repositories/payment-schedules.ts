import type { Prisma } from "../client.ts";
import type { Db } from "../store.ts";

export type PaymentScheduleColumns = Omit<
  Prisma.PaymentScheduleUncheckedCreateInput,
  "id" | "subscriptionId" | "stripeKey"
>;

export async function createPaymentSchedule(
  db: Db,
  schedule: { id: string; subscriptionId: string; stripeKey: string } & PaymentScheduleColumns,
) {
  return db.paymentSchedule.create({ data: schedule });
}

export async function updatePaymentSchedule(db: Db, id: string, data: Partial<PaymentScheduleColumns>) {
  return db.paymentSchedule.update({ where: { id }, data });
}
