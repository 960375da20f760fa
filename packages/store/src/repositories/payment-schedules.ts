import type { PaymentSchedule } from "../generated/client.ts";
import { updateById } from "../sql-columns.ts";
import type { Db } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

/** What the sync writes of a payment schedule (Stripe's invoice or preview). */
export type PaymentScheduleColumns = Pick<
  PaymentSchedule,
  "stripeInvoiceId" | "status" | "amount" | "currency" | "dueDate" | "periodStart" | "periodEnd" | "paidAt"
>;

// Through pg: a renewal's sync writes one or two of these (transaction-sql.ts says why).

export async function createPaymentSchedule(
  db: Db,
  schedule: { id: string; subscriptionId: string; stripeKey: string } & PaymentScheduleColumns,
) {
  const now = new Date();
  const row = { ...schedule, createdAt: now, updatedAt: now };
  const columns = Object.keys(row) as (keyof typeof row)[];
  await sqlOf(db)(
    `INSERT INTO "PaymentSchedule" (${columns.map((c) => `"${c}"`).join(", ")})
     VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
    columns.map((c) => row[c]),
  );
}

export async function updatePaymentSchedule(db: Db, id: string, data: Partial<PaymentScheduleColumns>) {
  await sqlOf(db)(...updateById("PaymentSchedule", id, data));
}
