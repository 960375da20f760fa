import type { Store } from "@bridge/store";
import { createStripeClient } from "@bridge/stripe-client";
import { need } from "../config.ts";
import type { CliContext } from "../context.ts";

/** Store, Stripe client and logger: what the sync-consumer's operator functions need. */
export function syncDeps(
  ctx: CliContext,
  command: string,
): { store: Store; stripe: ReturnType<typeof createStripeClient>["stripe"]; logger: CliContext["logger"] } {
  const { stripe } = createStripeClient({
    secretKey: need(ctx.config, "STRIPE_SECRET_KEY", command),
    apiUrl: ctx.config.STRIPE_API_URL,
  });
  return { store: ctx.store(command), stripe, logger: ctx.logger };
}
