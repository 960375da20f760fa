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
  /** What this fetch read of the invoices (the coalescer records it, decision 023). */
  read: InvoiceRead;
};

/** Which invoices a fetch reflects: the latest one always, every recent one when it listed them. */
export type InvoiceRead = { latestInvoice: string | null; listed: boolean };

/**
 * What the caller knows that may spare the invoice list (decision 023). Without a plan (operator
 * actions, order outcomes, coalescing off) every fetch lists the recent invoices.
 */
export type InvoicePlan = {
  /** Invoice ids named by the Stripe events this sync answers (none for a subscription event). */
  namedInvoices: readonly string[];
  /** Stored invoices that can still change in Stripe (open, uncollectible). */
  changeableInvoices: readonly string[];
  /** Did a sync already store this subscription's invoice history? */
  synced: boolean;
};

/** Schedules of invoices Stripe may still change: open (due, failed) or uncollectible (failed). */
const CHANGEABLE = new Set(["due", "failed"]);

/** The plan for a stored subscription, or undefined (list) when no events were named. */
export function invoicePlanFor(
  row: {
    lastSyncedAt: Date | null;
    paymentSchedules: readonly { status: string; stripeInvoiceId: string | null }[];
  },
  namedInvoices: readonly string[] | undefined,
): InvoicePlan | undefined {
  if (namedInvoices === undefined) return undefined;
  return {
    namedInvoices,
    changeableInvoices: row.paymentSchedules.flatMap((s) =>
      CHANGEABLE.has(s.status) && s.stripeInvoiceId ? [s.stripeInvoiceId] : [],
    ),
    synced: row.lastSyncedAt !== null,
  };
}

/**
 * May the sync read only the subscription's latest invoice instead of listing the recent ones?
 * Yes when the history is stored, no stored invoice can still change unless it is the latest,
 * and the events name no other invoice: every invoice other than the latest then stands as stored
 * (paid and void invoices are final; a new one that is not the latest was named by its own
 * `invoice.*` events, whose sync lists). The argument is in decision 023.
 */
export function latestInvoiceSuffices(plan: InvoicePlan | undefined, latestInvoice: string | null): boolean {
  if (!plan?.synced || latestInvoice === null) return false;
  return [...plan.namedInvoices, ...plan.changeableInvoices].every((id) => id === latestInvoice);
}

const ENDED = new Set(["canceled", "incomplete_expired"]);

/**
 * Stripe's current state of one subscription in at most three reads: the subscription with its
 * payment methods, schedule and latest invoice expanded (the customer's default method comes
 * through the expanded customer, no separate customer read), its recent invoices unless the plan
 * shows the latest one suffices, and the preview of the next invoice while it still renews (its
 * schedule's while one manages it).
 * Stripe errors are mapped onto the runtime's taxonomy.
 */
export async function fetchStripeState(
  stripe: Stripe,
  stripeSubscriptionId: string,
  metrics?: SyncMetrics,
  plan?: InvoicePlan,
): Promise<StripeState> {
  try {
    metrics?.stripeFetches.inc({ call: "subscriptions.retrieve" });
    const sub = await stripe.subscriptions.retrieve(stripeSubscriptionId, {
      expand: [
        "default_payment_method",
        "schedule",
        "customer.invoice_settings.default_payment_method",
        "latest_invoice",
      ],
    });
    const renews = !ENDED.has(sub.status) && !sub.cancel_at_period_end;
    const latest = typeof sub.latest_invoice === "object" ? sub.latest_invoice : null;
    const read: InvoiceRead = {
      latestInvoice: latest?.id ?? null,
      listed: !latestInvoiceSuffices(plan, latest?.id ?? null),
    };
    const invoicesPromise = read.listed
      ? listInvoices(stripe, sub.id, metrics)
      : Promise.resolve(latest ? [latest as unknown as StripeInvoiceLike] : []);
    const attached =
      typeof sub.schedule === "object" && sub.schedule?.status === "active" ? sub.schedule : null;
    const previewPromise = renews
      ? preview(stripe, attached ? { schedule: attached.id } : { subscription: sub.id }, metrics)
      : Promise.resolve(null);
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
      latest_invoice: latest?.id ?? sub.latest_invoice ?? null,
    };
    return {
      subscription: {
        ...(sub as unknown as StripeSubscriptionLike),
        customer: customer?.id ?? (sub.customer as string),
      },
      invoices,
      upcomingInvoice,
      defaultPaymentMethod,
      schedule,
      raw,
      read,
    };
  } catch (error) {
    throw classifyStripeError(error);
  }
}

async function listInvoices(stripe: Stripe, subscription: string, metrics?: SyncMetrics) {
  metrics?.stripeFetches.inc({ call: "invoices.list" });
  const page = await stripe.invoices.list({ subscription, limit: INVOICES_PER_SYNC });
  return page.data as unknown as StripeInvoiceLike[];
}

/**
 * The next invoice: the schedule's while one manages the subscription ("The identifier of the
 * schedule whose upcoming invoice you'd like to retrieve", docs.stripe.com/api/invoices/create_preview),
 * so a scheduled switch's items and a schedule's end are what it shows (Stripe does not document
 * what a `subscription` preview makes of them); else the subscription's.
 */
async function preview(
  stripe: Stripe,
  of: { subscription: string } | { schedule: string },
  metrics?: SyncMetrics,
) {
  metrics?.stripeFetches.inc({ call: "invoices.createPreview" });
  try {
    return (await stripe.invoices.createPreview(of)) as unknown as StripeInvoiceLike;
  } catch (error) {
    // Stripe answers 4xx when there is nothing upcoming (e.g. it ends at period end): no preview.
    const status = (error as { statusCode?: number }).statusCode ?? 0;
    if (status >= 400 && status < 500 && status !== 429) return null;
    throw error;
  }
}
