import { importExternalSubscription } from "@bridge/sync-core";
import { type Command, exitCodes } from "./command.ts";
import { syncDeps } from "./stripe-deps.ts";

/**
 * Bring a subscription created directly in Stripe into the Limio store as `external`: synced
 * like any other, but with no offer and no commerce actions (Limio's own limits for such
 * subscriptions; use the Send Order API for subscriptions Limio should manage).
 */
export const importSubscription: Command = {
  name: "import",
  summary: "import a subscription created directly in Stripe as an external Limio subscription",
  usage: "bridge import <stripe sub_…>",
  async run(ctx, { positionals }) {
    const [stripeSubscriptionId] = positionals;
    if (!stripeSubscriptionId?.startsWith("sub_")) {
      ctx.err(`usage: ${this.usage}`);
      return exitCodes.usage;
    }
    const result = await importExternalSubscription(syncDeps(ctx, this.name), stripeSubscriptionId);
    ctx.out(
      result.created
        ? `imported ${stripeSubscriptionId} as ${result.subscriptionId} (external: no offer, no commerce actions)`
        : `${stripeSubscriptionId} is already linked to ${result.subscriptionId}; re-synced`,
    );
    return exitCodes.ok;
  },
};
