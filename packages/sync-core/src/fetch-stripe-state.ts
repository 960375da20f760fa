import type {
  StripeInvoiceLike,
  StripePaymentMethodLike,
  StripeSubscriptionLike,
  StripeSubscriptionScheduleLike,
} from "@bridge/domain";
import { classifyStripeError, type Stripe } from "@bridge/stripe-client";
import type { SyncMetrics } from "./metrics.ts";

/** Recent invoices read per sync: history older than this stays as stored (reconcile keeps past schedules). */
export const INVOICES_PER_SYNC = 24;

export type StripeState = {
  subscription: StripeSubscriptionLike;
  invoices: StripeInvoiceLike[];
  upcomingInvoice: StripeInvoiceLike | null;
  /** The subscription's default method, else the customer's invoice default, else null. */
  defaultPaymentMethod: StripePaymentMethodLike | null;
  schedule: StripeSubscriptionScheduleLike | null;
  /** The subscription as stored for debugging: the customer reduced to its id (no PII copy). */
  raw: Record<string, unknown>;
};

const ENDED = new Set(["canceled", "incomplete_expired"]);

/**
 * Stripe's current state of one subscription in at most three reads: the subscription with its
 * payment methods and schedule expanded (the customer's default method comes through the expanded
 * customer, no separate customer read), its recent invoices, and the preview of the next invoice
 * while it still renews. Stripe errors are mapped onto the runtime's taxonomy.
 */
export async function fetchStripeState(
  stripe: Stripe,
  stripeSubscriptionId: string,
  metrics?: SyncMetrics,
): Promise<StripeState> {
  try {
    metrics?.stripeFetches.inc({ call: "subscriptions.retrieve" });
    const sub = await stripe.subscriptions.retrieve(stripeSubscriptionId, {
      expand: ["default_payment_method", "schedule", "customer.invoice_settings.default_payment_method"],
    });
    const renews = !ENDED.has(sub.status) && !sub.cancel_at_period_end;
    metrics?.stripeFetches.inc({ call: "invoices.list" });
    const invoicesPromise = stripe.invoices.list({ subscription: sub.id, limit: INVOICES_PER_SYNC });
    const previewPromise = renews ? preview(stripe, sub.id, metrics) : Promise.resolve(null);
    const [invoices, upcomingInvoice] = await Promise.all([invoicesPromise, previewPromise]);

    const customer = typeof sub.customer === "object" ? sub.customer : null;
    const customerDefault =
      customer && !("deleted" in customer && customer.deleted)
        ? (customer as Stripe.Customer).invoice_settings?.default_payment_method
        : null;
    const onSub = typeof sub.default_payment_method === "object" ? sub.default_payment_method : null;
    const fromCustomer = typeof customerDefault === "object" ? customerDefault : null;
    const defaultPaymentMethod = (onSub ?? fromCustomer ?? null) as StripePaymentMethodLike | null;
    const schedule =
      sub.schedule && typeof sub.schedule === "object"
        ? (sub.schedule as unknown as StripeSubscriptionScheduleLike)
        : null;

    // Expanded objects are reduced to ids: the raw copy is for debugging, not a second PII store.
    const raw = {
      ...(sub as unknown as Record<string, unknown>),
      customer: customer?.id ?? sub.customer,
      default_payment_method: onSub?.id ?? sub.default_payment_method ?? null,
      schedule: schedule?.id ?? sub.schedule ?? null,
    };
    return {
      subscription: {
        ...(sub as unknown as StripeSubscriptionLike),
        customer: customer?.id ?? (sub.customer as string),
      },
      invoices: invoices.data as unknown as StripeInvoiceLike[],
      upcomingInvoice,
      defaultPaymentMethod,
      schedule,
      raw,
    };
  } catch (error) {
    throw classifyStripeError(error);
  }
}

async function preview(stripe: Stripe, subscription: string, metrics?: SyncMetrics) {
  metrics?.stripeFetches.inc({ call: "invoices.createPreview" });
  try {
    return (await stripe.invoices.createPreview({ subscription })) as unknown as StripeInvoiceLike;
  } catch (error) {
    // Stripe answers 4xx when there is nothing upcoming (e.g. it ends at period end): no preview.
    const status = (error as { statusCode?: number }).statusCode ?? 0;
    if (status >= 400 && status < 500 && status !== 429) return null;
    throw error;
  }
}
