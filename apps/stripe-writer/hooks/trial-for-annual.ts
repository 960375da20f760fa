/**
 * Example tenant hook (HOOK_MODULES=apps/stripe-writer/hooks/trial-for-annual.ts).
 *
 * Annual subscriptions are tagged `limio_promotion: annual-trial` and, when
 * TRIAL_FOR_ANNUAL_DAYS is a positive number, start with that many trial days. Monthly and
 * other offers pass through unchanged. Deterministic for a given order (the writer may retry the
 * subscription step with the same idempotency key, so the params must not change between tries).
 *
 * Note: the local stripe-emulator refuses trials; keep TRIAL_FOR_ANNUAL_DAYS unset against it.
 */
import type { BeforeStripeSubscription, HookContext } from "../src/hooks.ts";

export function isAnnual(offer: HookContext["offer"]): boolean {
  return (offer?.charges ?? []).some(
    (c) =>
      c.type === "recurring" &&
      ((c.repeat_interval_type === "years" && c.repeat_interval === 1) ||
        (c.repeat_interval_type === "months" && c.repeat_interval === 12)),
  );
}

export const beforeStripeSubscription: BeforeStripeSubscription = (params, ctx) => {
  if (!isAnnual(ctx.offer)) return params;
  const days = Number(process.env.TRIAL_FOR_ANNUAL_DAYS ?? "0");
  return {
    ...params,
    metadata: { ...params.metadata, limio_promotion: "annual-trial" },
    ...(Number.isInteger(days) && days > 0 ? { trial_period_days: days } : {}),
  };
};
