import { createHash } from "node:crypto";
import { RetryableError } from "@bridge/messaging";
import { claimCustomerEmail } from "@bridge/store";
import type { ActionContext } from "./context.ts";

/**
 * How long a claim holds off other orders while its holder is still processing. Longer than one
 * customer create can take (20 s timeout, network retries, the shared budget's waits), so a claim
 * is taken from a live order only when that order crashed or stalled, never mid-create.
 */
const CUSTOMER_CLAIM_LIFETIME_MS = 120_000;

/** The email as the claim knows it: a hash of the trimmed, lower-cased form (never the address). */
const emailHashOf = (email: string): string =>
  createHash("sha256").update(email.trim().toLowerCase()).digest("hex");

/**
 * The Stripe customer this new order must use (`created` when this very order created it), or
 * undefined when this order is the one to create it (decision 019). A customer Stripe lists by
 * the email is used whatever its case. Otherwise the order claims the email in Postgres: the one
 * holding the claim creates; an order that finds the email claimed by another retries (in a
 * moment, once Stripe lists the holder's customer) instead of creating a second customer.
 */
export async function existingOrClaimedCustomer(
  ctx: ActionContext,
  email: string,
): Promise<{ customerId: string; created: boolean } | undefined> {
  const found = await ctx.lookups.findCustomerByEmail(email);
  if (found) return { customerId: found.id, created: found.metadata?.limio_order_id === ctx.orderId };
  const key = { account: ctx.lookups.stripeAccount, emailHash: emailHashOf(email) };
  const claim = await claimCustomerEmail(ctx.db, key, ctx.orderId, CUSTOMER_CLAIM_LIFETIME_MS);
  if (!claim.claimed) {
    throw new RetryableError(`order ${claim.holder} is creating the Stripe customer of this email`, {
      retryAfterMs: 500,
    });
  }
  if (!claim.wasHeld) return undefined;
  // Taken over (or held by an earlier delivery of this order): its holder may have created the
  // customer since our look-up. Stripe's list is consistent right after a create.
  const since = await ctx.lookups.findCustomerByEmail(email);
  return since
    ? { customerId: since.id, created: since.metadata?.limio_order_id === ctx.orderId }
    : undefined;
}
