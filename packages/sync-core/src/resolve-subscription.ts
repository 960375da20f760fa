import type { Store } from "@bridge/store";

/** What resolving needs of a Limio subscription: which one, and the Stripe ids it is linked to. */
export type LimioSubscriptionRow = {
  id: string;
  stripeSubscriptionId: string | null;
  stripeCustomerId: string | null;
};

export type ResolveInput = {
  stripeSubscriptionId?: string | undefined;
  stripeCustomerId?: string | undefined;
  /** `metadata.limio_subscription_id` the writer stamps on the objects it creates. */
  limioSubscriptionId?: string | undefined;
};

export type Resolution =
  | {
      kind: "matched";
      via: "stripe_subscription_id" | "metadata" | "customer";
      subscriptions: LimioSubscriptionRow[];
    }
  | { kind: "unmatched"; stripeSubscriptionId: string; stripeCustomerId?: string | undefined }
  | { kind: "none"; reason: "no_stripe_ids" | "customer_unknown" };

/**
 * Which Limio subscription(s) a Stripe event is about, in this order (docs/decisions/010):
 * 1. the Stripe subscription id a Limio subscription is linked to;
 * 2. `metadata.limio_subscription_id` (set by the writer) naming a Limio subscription that is not
 *    linked to another Stripe subscription;
 * 3. the Stripe customer, when that customer has exactly one Limio subscription and it is not
 *    linked to a different Stripe subscription. Customer-level events (payment method, customer
 *    updated: no subscription id) concern every linked subscription of the customer.
 * A Stripe subscription id that none of these match is unmatched: counted, never invented.
 */
export async function resolveSubscriptions(
  store: Pick<Store, "sql">,
  input: ResolveInput,
): Promise<Resolution> {
  const { stripeSubscriptionId, stripeCustomerId } = input;
  const limioSubscriptionId =
    input.limioSubscriptionId && /^sub-[0-9a-f]{32}$/.test(input.limioSubscriptionId)
      ? input.limioSubscriptionId
      : undefined;
  // Every candidate of the three rules in one read through pg, not three Prisma queries: a storm
  // resolves every event of every renewal (about nine each), most of them then coalesced, and
  // Prisma's query compiler cost more CPU than the rest of the resolution (decision 031).
  const rows = await store.sql<LimioSubscriptionRow>(
    `SELECT "id", "stripeSubscriptionId", "stripeCustomerId" FROM "Subscription"
     WHERE "stripeSubscriptionId" = $1 OR "id" = $2 OR "stripeCustomerId" = $3
     ORDER BY "createdAt" ASC, "id" ASC`,
    [stripeSubscriptionId ?? null, limioSubscriptionId ?? null, stripeCustomerId ?? null],
  );
  if (stripeSubscriptionId) {
    const linked = rows.find((r) => r.stripeSubscriptionId === stripeSubscriptionId);
    if (linked) return { kind: "matched", via: "stripe_subscription_id", subscriptions: [linked] };
  }
  if (limioSubscriptionId) {
    const named = rows.find((r) => r.id === limioSubscriptionId);
    if (named && (!named.stripeSubscriptionId || named.stripeSubscriptionId === stripeSubscriptionId)) {
      return { kind: "matched", via: "metadata", subscriptions: [named] };
    }
  }
  if (stripeCustomerId) {
    const ofCustomer = rows.filter((r) => r.stripeCustomerId === stripeCustomerId);
    if (stripeSubscriptionId) {
      const only = ofCustomer.length === 1 ? ofCustomer[0] : undefined;
      if (only && !only.stripeSubscriptionId) {
        return { kind: "matched", via: "customer", subscriptions: [only] };
      }
    } else {
      const linked = ofCustomer.filter((s) => s.stripeSubscriptionId);
      if (linked.length > 0) return { kind: "matched", via: "customer", subscriptions: linked };
      return { kind: "none", reason: "customer_unknown" };
    }
  }
  if (stripeSubscriptionId) return { kind: "unmatched", stripeSubscriptionId, stripeCustomerId };
  return { kind: "none", reason: "no_stripe_ids" };
}

/** `limio_subscription_id` from an event object's metadata (or an invoice's subscription snapshot). */
export function limioSubscriptionIdOf(object: Record<string, unknown>): string | undefined {
  const own = (object.metadata as Record<string, unknown> | null | undefined)?.limio_subscription_id;
  if (typeof own === "string") return own;
  const parent = object.parent as
    | { subscription_details?: { metadata?: Record<string, unknown> | null } | null }
    | null
    | undefined;
  const inherited = parent?.subscription_details?.metadata?.limio_subscription_id;
  return typeof inherited === "string" ? inherited : undefined;
}
