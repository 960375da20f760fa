import type Stripe from "stripe";
import type { CardBehavior } from "./billing/cards.ts";

/** A Stripe API object as the emulator stores it. Keys starting with `_` are internal and never rendered. */
// biome-ignore lint/suspicious/noExplicitAny: Stripe objects are dynamic JSON; shapes are checked by the contract tests.
export type StripeObject = Record<string, any>;

/** Metadata of the API request that caused a change (null for clock-driven changes). */
export type RequestMeta = { id: string | null; idempotency_key: string | null };

/** Internal fields of a stored test-card PaymentMethod (never rendered). */
export type StoredPaymentMethod = Stripe.PaymentMethod & {
  /** What the test card does (docs.stripe.com/testing). */
  _card?: CardBehavior;
  /** Saved through a SetupIntent or a payment with setup_future_usage (no more authentication). */
  _set_up?: boolean;
  _test_clock?: string | null;
};

/** The emulator stores references as ids; the SDK types also allow the expanded object. */
export const idOf = (ref: string | { id: string }): string => (typeof ref === "string" ? ref : ref.id);
