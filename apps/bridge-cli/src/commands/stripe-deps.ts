import type { Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import type { CliContext } from "../context.ts";

/** Store, Stripe client and logger: what the sync core's operator functions need. */
export function syncDeps(
  ctx: CliContext,
  command: string,
): { store: Store; stripe: Stripe; logger: CliContext["logger"] } {
  return { store: ctx.store(command), stripe: ctx.stripe(command), logger: ctx.logger };
}
