/**
 * Minimal structural shapes of the Stripe objects the rules read (API 2026-10-28). The domain
 * must not depend on the `stripe` package at runtime; these are compatible subsets of its types,
 * lenient where Stripe is (nullable, expandable), so an SDK object can be passed straight in.
 */

/** An expandable field: the id, or the expanded object. */
export type StripeRef<T extends { id: string } = { id: string }> = string | T;
export type StripeMetadata = Record<string, string> | null | undefined;

export const stripeSubscriptionStatuses = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
] as const;
export type StripeSubscriptionStatus = (typeof stripeSubscriptionStatuses)[number];

export type StripePriceLike = {
  id: string;
  currency: string;
  unit_amount: number | null;
  recurring?: { interval: string; interval_count: number } | null;
  product?: StripeRef | null;
  lookup_key?: string | null;
  metadata?: StripeMetadata;
};

export type StripeSubscriptionItemLike = {
  id: string;
  /** Since API 2025-03-31 the billing period lives on each item, not on the subscription. */
  current_period_start: number;
  current_period_end: number;
  quantity?: number | null;
  price: StripePriceLike;
};

export type StripeCardLike = {
  brand: string;
  display_brand?: string | null;
  last4: string;
  exp_month: number;
  exp_year: number;
};

export type StripePaymentMethodLike = {
  id: string;
  object?: "payment_method";
  type: string;
  card?: StripeCardLike | null;
  customer?: StripeRef | null;
  metadata?: StripeMetadata;
  [typeSpecific: string]: unknown;
};

export type StripeSubscriptionLike = {
  id: string;
  object?: "subscription";
  status: StripeSubscriptionStatus;
  customer: StripeRef;
  currency?: string;
  cancel_at_period_end?: boolean | null;
  cancel_at?: number | null;
  canceled_at?: number | null;
  ended_at?: number | null;
  start_date?: number | null;
  /** Where billing periods count from: the start, a trial's end, or when an update restarted billing. */
  billing_cycle_anchor?: number | null;
  trial_start?: number | null;
  trial_end?: number | null;
  schedule?: StripeRef | null;
  latest_invoice?: StripeRef | null;
  default_payment_method?: StripeRef<StripePaymentMethodLike> | null;
  metadata?: StripeMetadata;
  items: { data: StripeSubscriptionItemLike[] };
};

export type StripeInvoiceStatus = "draft" | "open" | "paid" | "uncollectible" | "void";

export type StripeInvoiceLineLike = {
  amount: number;
  description?: string | null;
  quantity?: number | null;
  period?: { start: number; end: number } | null;
};

export type StripeInvoiceLike = {
  /** Preview (upcoming) invoices may carry a non-persistent id or none. */
  id?: string | null;
  object?: "invoice";
  status: StripeInvoiceStatus | null;
  currency: string;
  customer?: StripeRef | null;
  amount_due: number;
  amount_paid: number;
  total: number;
  total_excluding_tax?: number | null;
  created: number;
  due_date?: number | null;
  next_payment_attempt?: number | null;
  attempt_count?: number | null;
  period_start?: number;
  period_end?: number;
  status_transitions?: { paid_at?: number | null; finalized_at?: number | null } | null;
  /** API 2026: the subscription is `parent.subscription_details.subscription`. */
  parent?: {
    type?: string;
    subscription_details?: { subscription?: StripeRef | null; metadata?: StripeMetadata } | null;
  } | null;
  lines?: { data: StripeInvoiceLineLike[] } | null;
  metadata?: StripeMetadata;
};

export type StripeEventObjectLike = { object: string; id?: string; [field: string]: unknown };

export type StripeEventLike = {
  id: string;
  type: string;
  created: number;
  livemode: boolean;
  api_version?: string | null;
  data: { object: StripeEventObjectLike; previous_attributes?: Record<string, unknown> | null };
  /** `id` is null for events Stripe raised on its own (renewals, dunning); set for API/Dashboard requests. */
  request?: { id: string | null; idempotency_key: string | null } | null;
};

/** The id of an expandable reference, or undefined when absent. */
export function refId(ref: unknown): string | undefined {
  if (typeof ref === "string") return ref.length > 0 ? ref : undefined;
  if (ref && typeof ref === "object" && typeof (ref as { id?: unknown }).id === "string") {
    return refId((ref as { id: string }).id);
  }
  return undefined;
}
