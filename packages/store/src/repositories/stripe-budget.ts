import type { Db } from "../store.ts";

/** One take from a shared Stripe budget (decision 016). */
export type StripeGrantRequest = {
  /** Who takes (a process's member id): an order's claim is its taker's, replaced on its next take. */
  taker: string;
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
   * A priority taker (orders) that gets fewer grants than it wants claims the slots it lacks:
   * background takers leave that many slots free until `holdMs` after the last of them frees (or
   * until the taker takes again), so it wins them even if it comes back a little late, while
   * background work keeps every other slot that frees meanwhile.
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
 * in the last window (and which of them were the orders'), and the slots orders short of grants
 * have claimed, taken from under a row lock in one statement, so that however many processes take,
 * no window ever holds more than `limit` grants. Knows nothing of Stripe.
 */
export function stripeBudgetStore(db: Db, budgetId: string) {
  const take = async (request: StripeGrantRequest): Promise<StripeGrant> => {
    const { taker, want, limit, reserve, windowMs, priority, holdMs } = request;
    const rows = await db.$queryRaw<{ granted: number; waitMs: number; grantedAt: Date }[]>`
      WITH locked AS (
        SELECT b.id,
          make_interval(secs => ${windowMs / 1000}::float8) AS win,
          -- Never earlier than a grant already made: the clock may have been read before a lock wait.
          GREATEST(clock_timestamp(), (SELECT max(t) FROM unnest(b.recent) AS t)) AS at,
          COALESCE(b.recent, '{}') AS recent, COALESCE(b."recentOrders", '{}') AS orders,
          b."orderClaims" AS claims
        FROM "StripeBudget" AS b WHERE b.id = ${budgetId} FOR UPDATE
      ), kept AS (
        -- Grants still in the window; claims not yet expired, but never this order's own (its take
        -- replaces its claim).
        SELECT id, win, at,
          ARRAY(SELECT t FROM unnest(recent) AS t WHERE t > at - win ORDER BY t) AS recent,
          ARRAY(SELECT t FROM unnest(orders) AS t WHERE t > at - win ORDER BY t) AS orders,
          COALESCE((SELECT jsonb_object_agg(k, v) FROM jsonb_each(claims) AS c(k, v)
            WHERE (v->>'until')::timestamptz > at AND NOT (${priority} AND k = ${taker})), '{}') AS claims
        FROM locked
      ), claimed AS (
        SELECT kept.*,
          (SELECT COALESCE(sum((v->>'slots')::int), 0)::int FROM jsonb_each(claims) AS c(k, v)) AS slots,
          (SELECT min((v->>'until')::timestamptz) FROM jsonb_each(claims) AS c(k, v)) AS "claimEnds"
        FROM kept
      ), capped AS (
        -- The most grants the window may hold after this take: all of the limit for orders; for
        -- background work, the limit less the slots orders claimed and, while an order took in the
        -- window, less the part of the reserve the orders have not used yet.
        SELECT claimed.*,
          CASE WHEN ${priority} THEN ${limit}::int
               ELSE ${limit}::int - slots
                 - CASE WHEN cardinality(orders) = 0 THEN 0 ELSE GREATEST(0, ${reserve}::int - cardinality(orders)) END
          END AS cap
        FROM claimed
      ), decided AS (
        SELECT capped.*, GREATEST(0, LEAST(${want}::int, cap - cardinality(recent))) AS granted
        FROM capped
      ), after AS (
        SELECT decided.*, recent || array_fill(at, ARRAY[granted]) AS "recentAfter" FROM decided
      )
      UPDATE "StripeBudget" AS b
      SET recent = d."recentAfter",
          "recentOrders" = CASE WHEN ${priority} THEN d.orders || array_fill(d.at, ARRAY[d.granted])
                                ELSE d.orders END,
          -- An order short of grants claims the slots it lacks until the last of them (after the
          -- slots other orders claimed) has aged out, and a hold after it.
          "orderClaims" = CASE
            WHEN ${priority} AND d.granted < ${want}::int
            THEN d.claims || jsonb_build_object(${taker}::text, jsonb_build_object(
              'slots', ${want}::int - d.granted,
              'until', COALESCE(d."recentAfter"[LEAST(cardinality(d."recentAfter"), d.slots + ${want}::int - d.granted)], d.at)
                + d.win + make_interval(secs => ${holdMs / 1000}::float8)))
            ELSE d.claims END
      FROM after AS d
      WHERE b.id = d.id
      RETURNING d.granted, d.at AS "grantedAt",
        -- The slot this taker waits for frees when the grant that many places from the end ages out;
        -- for background work, sooner if the first claim lapses first.
        GREATEST(0, EXTRACT(EPOCH FROM (
          CASE WHEN ${priority} THEN d.recent[cardinality(d.recent) - d.cap + 1] + d.win
               ELSE LEAST(d.recent[cardinality(d.recent) - d.cap + 1] + d.win, d."claimEnds") END
          - d.at)) * 1000) AS "waitMs"`;
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
