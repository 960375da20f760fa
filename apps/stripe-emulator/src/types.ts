/** A Stripe API object as the emulator stores it. Keys starting with `_` are internal and never rendered. */
// biome-ignore lint/suspicious/noExplicitAny: Stripe objects are dynamic JSON; shapes are checked by the contract tests.
export type StripeObject = Record<string, any>;

/** Metadata of the API request that caused a change (null for clock-driven changes). */
export type RequestMeta = { id: string | null; idempotency_key: string | null };
