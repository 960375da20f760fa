import { Prisma } from "../generated/client.ts";
import type { Db } from "../store.ts";

/** One take from a shared Stripe budget (decision 016). */
export type StripeTokenRequest = {
  /** Tokens wanted now (the process's waiting requests). */
  want: number;
  /** Refill per second and bucket size: the same for every process of an account. */
  ratePerSecond: number;
  burst: number;
  /** Tokens the take must leave in the bucket: 0 for orders, the reserve for background work. */
  floor: number;
  /**
   * A priority taker (orders) that gets fewer tokens than it wants holds the others off for
   * `holdMs`, so it wins the next token even if it comes back for it a little late.
   */
  priority: boolean;
  holdMs: number;
};

/**
 * `grantedAt`: the database time the grant counts from (the bucket's new refill time).
 * `heldOffMs`: how long a non-priority taker must wait for a waiting priority taker.
 */
export type StripeTokenGrant = { granted: number; remaining: number; grantedAt: Date; heldOffMs: number };

/**
 * The Postgres side of the shared Stripe budget: a token bucket row per account, refilled from the
 * database's own clock and taken from in one UPDATE, so concurrent processes serialise on the row
 * lock and together never take more than the bucket holds. Knows nothing of Stripe.
 */
export function stripeBudgetStore(db: Db, budgetId: string) {
  const take = async (request: StripeTokenRequest): Promise<StripeTokenGrant> => {
    const { want, ratePerSecond: rate, burst, floor, priority, holdMs } = request;
    // Expressions over the row as the UPDATE finds it (after any lock wait), refilled up to now.
    const available = Prisma.sql`LEAST(${burst}::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM (clock.at - b."refilledAt"))) * ${rate}::float8)`;
    const heldOff = priority
      ? Prisma.sql`false`
      : Prisma.sql`COALESCE(b."priorityWaitingUntil" > clock.at, false)`;
    const granted = Prisma.sql`CASE WHEN ${heldOff} THEN 0 ELSE GREATEST(0, LEAST(${want}::int, FLOOR(${available} - ${floor}::float8)::int)) END`;
    const waitingUntil = priority
      ? Prisma.sql`CASE WHEN ${granted} < ${want}::int THEN clock.at + make_interval(secs => ${holdMs / 1000}::float8) ELSE b."priorityWaitingUntil" END`
      : Prisma.sql`b."priorityWaitingUntil"`;
    const rows = await db.$queryRaw<
      { granted: number; remaining: number; grantedAt: Date; heldOffMs: number }[]
    >`
      UPDATE "StripeBudget" AS b
      SET "lastGranted" = ${granted},
          tokens = ${available} - ${granted},
          "priorityWaitingUntil" = ${waitingUntil},
          "refilledAt" = GREATEST(b."refilledAt", clock.at)
      FROM (SELECT clock_timestamp() AS at) AS clock
      WHERE b.id = ${budgetId}
      RETURNING b."lastGranted" AS granted, b.tokens AS remaining, b."refilledAt" AS "grantedAt",
        CASE WHEN ${priority} THEN 0
          ELSE GREATEST(0, EXTRACT(EPOCH FROM (b."priorityWaitingUntil" - clock.at)) * 1000) END AS "heldOffMs"`;
    const row = rows[0];
    if (row) {
      return {
        granted: Number(row.granted),
        remaining: Number(row.remaining),
        grantedAt: row.grantedAt,
        heldOffMs: Number(row.heldOffMs ?? 0),
      };
    }
    // First take on this account: create the bucket full, then take from it.
    await db.$executeRaw`
      INSERT INTO "StripeBudget" (id, tokens, "refilledAt") VALUES (${budgetId}, ${burst}, clock_timestamp())
      ON CONFLICT (id) DO NOTHING`;
    return take(request);
  };

  return {
    take,

    /** Records this process as a member and answers how many were seen within `windowMs`. */
    async heartbeat(memberId: string, lane: string, windowMs: number): Promise<number> {
      await db.$executeRaw`
        INSERT INTO "StripeBudgetMember" ("budgetId", "memberId", lane, "seenAt")
        VALUES (${budgetId}, ${memberId}, ${lane}, clock_timestamp())
        ON CONFLICT ("budgetId", "memberId") DO UPDATE SET "seenAt" = EXCLUDED."seenAt", lane = EXCLUDED.lane`;
      const rows = await db.$queryRaw<{ members: bigint }[]>`
        SELECT count(*) AS members FROM "StripeBudgetMember"
        WHERE "budgetId" = ${budgetId} AND "seenAt" > clock_timestamp() - make_interval(secs => ${windowMs / 1000}::float8)`;
      return Number(rows[0]?.members ?? 1);
    },

    /** Forgets a process that stops, so the others' fallback share grows back. */
    async leave(memberId: string): Promise<void> {
      await db.$executeRaw`DELETE FROM "StripeBudgetMember" WHERE "budgetId" = ${budgetId} AND "memberId" = ${memberId}`;
    },
  };
}

export type StripeBudgetStore = ReturnType<typeof stripeBudgetStore>;
