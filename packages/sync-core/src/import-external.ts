import { generateLimioReference } from "@bridge/domain";
import { createSubscription, findSubscriptionByStripeId, handleOnce, markImported } from "@bridge/store";
import { classifyStripeError, type Stripe } from "@bridge/stripe-client";
import { syncSubscriptionInTx } from "./apply-sync.ts";
import { recordSubscriptionChange } from "./change-events.ts";
import { customerForNewOrder, derivedLimioId } from "./customers.ts";
import { CONSUMER, type OperatorDeps, operatorDeps, syncStore } from "./deps.ts";

export type ImportResult = { subscriptionId: string; created: boolean };

/**
 * Operator action (the `bridge` CLI): bring a subscription created directly in Stripe into the
 * Limio store, then sync it. Limits, as with Limio's own Stripe sync (limio-stripe-sync.md):
 * - no offer: the sync cannot map a Stripe price to a Limio offer (`offerId` stays null);
 * - `origin: "external"` marks it: no commerce actions (cancel, switch, renew) must be accepted on
 *   it; the writer and gateway should refuse orders for such subscriptions (use the Send Order API
 *   for subscriptions Limio should manage);
 * - `source: "stripe"`; the customer is created from the Stripe customer (email, name) or the
 *   existing Limio customer with that Stripe id or email is reused.
 * Idempotent: the Limio id derives from the Stripe subscription id, and an already linked
 * subscription is returned as it is (and re-synced).
 */
export async function importExternalSubscription(
  deps: OperatorDeps,
  stripeSubscriptionId: string,
  options: { operator?: string } = {},
): Promise<ImportResult> {
  const existing = await findSubscriptionByStripeId(deps.store.db, stripeSubscriptionId);
  const subscriptionId = existing?.id ?? derivedLimioId("sub", `stripe-subscription:${stripeSubscriptionId}`);
  let customer: Stripe.Customer | undefined;
  let stripeCustomerId: string | undefined;
  if (!existing) {
    try {
      const sub = await deps.stripe.subscriptions.retrieve(stripeSubscriptionId, { expand: ["customer"] });
      if (typeof sub.customer === "object" && !("deleted" in sub.customer && sub.customer.deleted)) {
        customer = sub.customer as Stripe.Customer;
      }
      stripeCustomerId = typeof sub.customer === "string" ? sub.customer : sub.customer.id;
    } catch (error) {
      throw classifyStripeError(error);
    }
  }
  const fullDeps = operatorDeps(deps);
  const messageId = `import:${stripeSubscriptionId}:${Date.now()}`;
  let created = false;
  await handleOnce(syncStore(deps.store), CONSUMER, messageId, async (tx) => {
    if (!existing) {
      const email = customer?.email ?? `${stripeCustomerId}@stripe.invalid`;
      const [firstName, ...rest] = (customer?.name ?? "").split(" ");
      const limioCustomer = await customerForNewOrder(tx, {
        orderId: `stripe-customer:${stripeCustomerId}`,
        email,
        stripeCustomerId,
        firstName: firstName || null,
        lastName: rest.join(" ") || null,
        phone: customer?.phone ?? null,
      });
      await createSubscription(tx, {
        id: subscriptionId,
        reference: generateLimioReference(),
        customerId: limioCustomer.id,
        offerId: null,
        status: "pending",
        origin: "external",
        source: "stripe",
        stripeCustomerId: stripeCustomerId ?? null,
        stripeSubscriptionId,
      });
      await recordSubscriptionChange(tx, {
        subscriptionId,
        type: "subscription.imported",
        source: "operator",
        causeId: messageId,
        operator: options.operator,
        changes: {
          stripeSubscriptionId: { from: null, to: stripeSubscriptionId },
          origin: { from: null, to: "external" },
          ...(options.operator ? { operator: options.operator } : {}),
        },
      });
      created = true;
    }
    await markImported(tx, stripeSubscriptionId, subscriptionId);
    await syncSubscriptionInTx(tx, fullDeps, subscriptionId, { trigger: "operator", causeId: messageId });
  });
  deps.logger.info(
    { stripeSubscriptionId, subscriptionId, created },
    "external Stripe subscription imported",
  );
  return { subscriptionId, created };
}
