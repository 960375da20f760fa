// Test-only builders for Stripe-shaped objects (outside src/: product code cannot import them).
import type {
  StripeInvoiceLike,
  StripePaymentMethodLike,
  StripeSubscriptionItemLike,
  StripeSubscriptionLike,
} from "../src/stripe/types.ts";

export const T0 = 1_763_683_200; // 2025-11-21T00:00:00Z
export const DAY = 86_400;

export const item = (over: Partial<StripeSubscriptionItemLike> = {}): StripeSubscriptionItemLike => ({
  id: "si_1",
  current_period_start: T0,
  current_period_end: T0 + 30 * DAY,
  quantity: 1,
  price: {
    id: "price_1",
    currency: "gbp",
    unit_amount: 999,
    recurring: { interval: "month", interval_count: 1 },
  },
  ...over,
});

export const subscription = (over: Partial<StripeSubscriptionLike> = {}): StripeSubscriptionLike => ({
  id: "sub_1",
  status: "active",
  customer: "cus_1",
  cancel_at_period_end: false,
  cancel_at: null,
  canceled_at: null,
  ended_at: null,
  start_date: T0,
  schedule: null,
  items: { data: [item()] },
  ...over,
});

export const invoice = (over: Partial<StripeInvoiceLike> = {}): StripeInvoiceLike => ({
  id: "in_1",
  status: "paid",
  currency: "gbp",
  customer: "cus_1",
  amount_due: 999,
  amount_paid: 999,
  total: 999,
  total_excluding_tax: 833,
  created: T0,
  attempt_count: 1,
  status_transitions: { paid_at: T0 + 60 },
  parent: { type: "subscription_details", subscription_details: { subscription: "sub_1" } },
  lines: {
    data: [{ amount: 999, description: "1 × Digital Monthly", period: { start: T0, end: T0 + 30 * DAY } }],
  },
  ...over,
});

export const card = (over: Partial<StripePaymentMethodLike> = {}): StripePaymentMethodLike => ({
  id: "pm_1",
  type: "card",
  card: { brand: "visa", last4: "4242", exp_month: 8, exp_year: 2030 },
  ...over,
});
