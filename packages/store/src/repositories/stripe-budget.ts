import type { Db } from "../store.ts";

/** One take from a shared Stripe budget (decision 016). */
export type StripeGrantRequest = {
  /** Grants wanted now (the process's waiting requests). */
  want: number;
  /** The most grants any window may hold when this taker is done (the reserve is below it). */
  cap: number;
  windowMs: number;
  /**
   * A priority taker (orders) that gets fewer grants than it wants holds the others off for
   * `holdMs`, so it wins the next free slots even if it comes back for them a little late.
   */
  priority: boolean;
  holdMs: number;
};

/**
 * `waitMs`: when none was granted, how long until this taker may find a free slot.
 * `grantedAt`: the database time the grants count from.
 */
export type StripeGrant = { granted: number; waitMs: number; grantedAt: Date };

/**
 * The Postgres side of the shared Stripe budget: a row per account holding the times of the grants
 * in the last window, taken from under a row lock in one statement, so that however many processes
 * take, no window ever holds more than `cap` grants. Knows nothing of Stripe.
 */
export function stripeBudgetStore(db: Db, budgetId: string) {
  const take = async (request: StripeGrantRequest): Promise<StripeGrant> => {
    const { want, cap, windowMs, priority, holdMs } = request;
    const rows = await db.$queryRaw<{ granted: number; waitMs: number; grantedAt: Date }[]>`
      WITH locked AS (
        SELECT b.id, b."priorityWaitingUntil" AS waiting,
          -- Never earlier than a grant already made: the clock may have been read before a lock wait.
          GREATEST(clock_timestamp(), (SELECT max(t) FROM unnest(b.recent) AS t)) AS at,
          COALESCE(b.recent, '{}') AS recent
        FROM "StripeBudget" AS b WHERE b.id = ${budgetId} FOR UPDATE
      ), kept AS (
        SELECT id, waiting, at,
          ARRAY(SELECT t FROM unnest(recent) AS t
                WHERE t > at - make_interval(secs => ${windowMs / 1000}::float8) ORDER BY t) AS recent
        FROM locked
      ), decided AS (
        SELECT kept.*,
          CASE WHEN NOT ${priority} AND waiting > at THEN 0
               ELSE GREATEST(0, LEAST(${want}::int, ${cap}::int - cardinality(recent))) END AS granted
        FROM kept
      )
      UPDATE "StripeBudget" AS b
      SET recent = d.recent || array_fill(d.at, ARRAY[d.granted]),
          "priorityWaitingUntil" = CASE
            WHEN ${priority} AND d.granted < ${want}::int
            THEN d.at + make_interval(secs => ${holdMs / 1000}::float8)
            ELSE d.waiting END
      FROM decided AS d
      WHERE b.id = d.id
      RETURNING d.granted, d.at AS "grantedAt",
        -- The slot this taker waits for frees when the grant that many places from the end ages out.
        GREATEST(0,
          EXTRACT(EPOCH FROM (d.recent[cardinality(d.recent) - ${cap}::int + 1]
            + make_interval(secs => ${windowMs / 1000}::float8) - d.at)) * 1000,
          CASE WHEN ${priority} THEN 0 ELSE EXTRACT(EPOCH FROM (d.waiting - d.at)) * 1000 END
        ) AS "waitMs"`;
    const row = rows[0];
    if (row)
      return { granted: Number(row.granted), waitMs: Number(row.waitMs ?? 0), grantedAt: row.grantedAt };
    // First take on this account: create its row, then take from it.
    await db.$executeRaw`INSERT INTO "StripeBudget" (id, recent) VALUES (${budgetId}, '{}') ON CONFLICT (id) DO NOTHING`;
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
