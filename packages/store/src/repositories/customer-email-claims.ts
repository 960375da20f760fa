import type { Db } from "../store.ts";

/** One email of one Stripe account (decision 019). */
export type CustomerEmailKey = { account: string; emailHash: string };

/**
 * Claims the email for `orderId` (the order about to create its Stripe customer), or answers the
 * order that holds it. The claim is this order's when nobody holds it, when it already held it
 * (a redelivery), when the holder's order is finished (it failed before creating, or created a
 * customer since deleted) or when the claim is older than `lifetimeMs` (its holder crashed or
 * stalled). One statement, so two writers asking at once never both get it. `wasHeld`: the claim
 * existed before (someone may have created the customer since the caller last looked).
 */
export async function claimCustomerEmail(
  db: Db,
  key: CustomerEmailKey,
  orderId: string,
  lifetimeMs: number,
): Promise<{ claimed: boolean; holder: string; wasHeld: boolean }> {
  const taken = await db.$queryRaw<{ wasHeld: boolean }[]>`
    INSERT INTO "CustomerEmailClaim" AS c (account, "emailHash", "orderId", "claimedAt")
    VALUES (${key.account}, ${key.emailHash}, ${orderId}, clock_timestamp())
    ON CONFLICT (account, "emailHash") DO UPDATE
      SET "orderId" = EXCLUDED."orderId", "claimedAt" = EXCLUDED."claimedAt"
      WHERE c."orderId" = EXCLUDED."orderId"
        OR c."claimedAt" < clock_timestamp() - make_interval(secs => ${lifetimeMs / 1000}::float8)
        OR EXISTS (SELECT 1 FROM "Order" AS o
                   WHERE o.id = c."orderId" AND o.status NOT IN ('queued', 'processing'))
    RETURNING NOT (c.xmax = 0) AS "wasHeld"`; // xmax is 0 on a fresh insert, set on an updated row
  if (taken[0]) return { claimed: true, holder: orderId, wasHeld: taken[0].wasHeld };
  const held = await db.customerEmailClaim.findUnique({
    where: { account_emailHash: key },
    select: { orderId: true },
  });
  // Gone between the two statements (never deleted today): ask again.
  return held
    ? { claimed: false, holder: held.orderId, wasHeld: true }
    : claimCustomerEmail(db, key, orderId, lifetimeMs);
}
