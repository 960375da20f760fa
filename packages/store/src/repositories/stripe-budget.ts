import { sqlText } from "../sql-columns.ts";
import type { Db } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

/** One take from a shared Stripe budget (decision 016). */
export type StripeGrantRequest = {
  /** Grants wanted now (the process's waiting requests). */
  want: number;
  /** The account's limit: no window ever holds more grants. */
  limit: number;
  /**
   * Slots of each window a background taker leaves to orders while orders are active (an order's
   * grant is in the window); the orders' own grants there count towards it. Ignored for orders.
   */
  reserve: number;
  windowMs: number;
  /**
   * A priority taker (orders) that gets fewer grants than it wants holds the others off until
   * `holdMs` after the slot it waits for frees (or until it is served in full), so it wins that
   * slot even if it comes back for it a little late.
   */
  priority: boolean;
  holdMs: number;
};

/**
 * `waitMs`: when none was granted, how long until this taker may find a free slot.
 * `grantedAt`: the database time the grants count from (the time of the take when none was).
 */
export type StripeGrant = { granted: number; waitMs: number; grantedAt: Date };

/**
 * The Postgres side of the shared Stripe budget: a row per account holding the times of the grants
 * in the last window (and which of them were the orders'), taken from under a row lock in one
 * statement, so that however many processes take, no window ever holds more than `limit` grants.
 * Knows nothing of Stripe.
 */
export function stripeBudgetStore(db: Db, budgetId: string) {
  // Through pg: a take per batch of Stripe requests (transaction-sql.ts says why).
  const sql = sqlOf(db);
  const take = async (request: StripeGrantRequest): Promise<StripeGrant> => {
    const { want, limit, reserve, windowMs, priority, holdMs } = request;
    const rows = await sql<{ granted: number; waitMs: string | null; grantedAt: Date }>(
      ...sqlText`
      WITH locked AS (
        SELECT b.id, b."priorityWaitingUntil" AS waiting,
          make_interval(secs => ${windowMs / 1000}::float8) AS win,
          -- Never earlier than a grant already made: the clock may have been read before a lock wait.
          GREATEST(clock_timestamp(), (SELECT max(t) FROM unnest(b.recent) AS t)) AS at,
          COALESCE(b.recent, '{}') AS recent, COALESCE(b."recentOrders", '{}') AS orders
        FROM "StripeBudget" AS b WHERE b.id = ${budgetId} FOR UPDATE
      ), kept AS (
        SELECT id, waiting, win, at,
          ARRAY(SELECT t FROM unnest(recent) AS t WHERE t > at - win ORDER BY t) AS recent,
          ARRAY(SELECT t FROM unnest(orders) AS t WHERE t > at - win ORDER BY t) AS orders
        FROM locked
      ), capped AS (
        -- The most grants the window may hold after this take: all of the limit for orders, and for
        -- background work while no order took in the window; else the part of the reserve the
        -- orders have not used yet stays free.
        SELECT kept.*,
          CASE WHEN ${priority} OR cardinality(orders) = 0 THEN ${limit}::int
               ELSE ${limit}::int - GREATEST(0, ${reserve}::int - cardinality(orders)) END AS cap
        FROM kept
      ), decided AS (
        SELECT capped.*,
          CASE WHEN NOT ${priority} AND waiting > at THEN 0
               ELSE GREATEST(0, LEAST(${want}::int, cap - cardinality(recent))) END AS granted
        FROM capped
      )
      UPDATE "StripeBudget" AS b
      SET recent = d.recent || array_fill(d.at, ARRAY[d.granted]),
          "recentOrders" = CASE WHEN ${priority} THEN d.orders || array_fill(d.at, ARRAY[d.granted])
                                ELSE d.orders END,
          -- An order short of grants: background work waits until the oldest grant (the next slot
          -- to free) has aged out, and a hold after it. An order served in full lifts the hold, so
          -- that no slot stays idle for an order that no longer waits.
          "priorityWaitingUntil" = CASE
            WHEN ${priority} AND d.granted < ${want}::int
            THEN GREATEST(d.waiting,
              COALESCE(d.recent[1], d.at) + d.win + make_interval(secs => ${holdMs / 1000}::float8))
            WHEN ${priority} THEN NULL
            ELSE d.waiting END
      FROM decided AS d
      WHERE b.id = d.id
      RETURNING d.granted, d.at AS "grantedAt",
        -- The slot this taker waits for frees when the grant that many places from the end ages out.
        GREATEST(0,
          EXTRACT(EPOCH FROM (d.recent[cardinality(d.recent) - d.cap + 1] + d.win - d.at)) * 1000,
          CASE WHEN ${priority} THEN 0 ELSE EXTRACT(EPOCH FROM (d.waiting - d.at)) * 1000 END
        ) AS "waitMs"`,
    );
    const row = rows[0];
    if (row)
      return { granted: Number(row.granted), waitMs: Number(row.waitMs ?? 0), grantedAt: row.grantedAt };
    // First take on this account: create its row, then take from it.
    await sql(
      ...sqlText`INSERT INTO "StripeBudget" (id, recent) VALUES (${budgetId}, '{}') ON CONFLICT (id) DO NOTHING`,
    );
    return take(request);
  };

  return {
    take,

    /** Records this process as a member and answers how many were seen within `windowMs`. */
    async heartbeat(memberId: string, lane: string, windowMs: number): Promise<number> {
      await sql(
        ...sqlText`
        INSERT INTO "StripeBudgetMember" ("budgetId", "memberId", lane, "seenAt")
        VALUES (${budgetId}, ${memberId}, ${lane}, clock_timestamp())
        ON CONFLICT ("budgetId", "memberId") DO UPDATE SET "seenAt" = EXCLUDED."seenAt", lane = EXCLUDED.lane`,
      );
      const rows = await sql<{ members: string }>(
        ...sqlText`
        SELECT count(*) AS members FROM "StripeBudgetMember"
        WHERE "budgetId" = ${budgetId} AND "seenAt" > clock_timestamp() - make_interval(secs => ${windowMs / 1000}::float8)`,
      );
      return Number(rows[0]?.members ?? 1);
    },

    /** Forgets a process that stops, so the others' fallback share grows back. */
    async leave(memberId: string): Promise<void> {
      await sql(
        ...sqlText`DELETE FROM "StripeBudgetMember" WHERE "budgetId" = ${budgetId} AND "memberId" = ${memberId}`,
      );
    },
  };
}

export type StripeBudgetStore = ReturnType<typeof stripeBudgetStore>;
