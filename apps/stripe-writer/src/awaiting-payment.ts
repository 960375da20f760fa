import { limioOrderSchema, type OrderOutcomeV1 } from "@bridge/domain";
import { PoisonMessageError } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { findOrder, findOrderAwaitingPayment, orderOutcomeMessageIds } from "@bridge/store";
import { classified, type Stripe, stripeFailureOf } from "@bridge/stripe-client";
import {
  type ActionContext,
  type ActionResult,
  actionContext,
  OrderFailure,
  type StripeIds,
  type WriterDeps,
} from "./context.ts";
import type { OrderRef } from "./outcomes.ts";
import { loadOrderSteps } from "./steps.ts";
import { setDeferredSubscriptionDefault } from "./subscription-default.ts";
import { moveRecordedTermEnd } from "./term-end.ts";

/**
 * Orders that wait for the customer (decision 018): a first payment or a past-due invoice whose
 * payment needs 3-D Secure, or a new order without payment details. The order ends
 * `requires_action` with the invoice's confirmation secret; the invoice's payment events finish it.
 */

/** What the `awaiting-payment` step records: how the invoice's events find the order again. */
type AwaitedPayment = {
  invoiceId: string;
  paymentIntentId: string | null;
  /** The action reported once paid (`subscription_created`, `payment_method_updated`). */
  action: string;
  stripe: StripeIds;
};

/**
 * Stripe's answers meaning "the customer must authenticate": `authentication_required` (an
 * off-session PaymentIntent) and `invoice_payment_intent_requires_action` (`invoices.pay`), see
 * docs.stripe.com/error-codes and docs.stripe.com/billing/subscriptions/overview#requires-action.
 */
export function needsCustomerAuthentication(error: unknown): boolean {
  const failure = stripeFailureOf(error);
  return (
    failure.code === "authentication_required" ||
    failure.code === "invoice_payment_intent_requires_action" ||
    failure.declineCode === "authentication_required"
  );
}

/**
 * Records that the order waits for the invoice's payment and returns `requires_action` with the
 * invoice's confirmation secret (read from Stripe each time: never stored in a step).
 */
export async function awaitCustomerPayment(
  ctx: ActionContext,
  awaited: { invoiceId: string; action: string; stripe: StripeIds; prefix?: string },
): Promise<ActionResult> {
  const invoice = await ctx.stripe.invoices.retrieve(awaited.invoiceId, { expand: ["confirmation_secret"] });
  if (invoice.status === "paid") {
    return { status: "applied", action: awaited.action, stripe: awaited.stripe };
  }
  const recorded = await ctx.step<AwaitedPayment>(`${awaited.prefix ?? ""}awaiting-payment`, async () => {
    const payments = await ctx.stripe.invoicePayments.list({ invoice: awaited.invoiceId, limit: 10 });
    const intent = payments.data.map((p) => p.payment?.payment_intent).find((pi) => pi);
    const paymentIntentId = typeof intent === "string" ? intent : (intent?.id ?? null);
    return {
      invoiceId: awaited.invoiceId,
      paymentIntentId,
      action: awaited.action,
      stripe: {
        ...awaited.stripe,
        invoiceId: awaited.invoiceId,
        ...(paymentIntentId ? { paymentIntentId } : {}),
      },
    };
  });
  const secret = invoice.confirmation_secret?.client_secret;
  return {
    status: "requires_action",
    action: "payment_pending",
    stripe: recorded.stripe,
    ...(secret ? { clientSecret: { type: "invoice_confirmation_secret" as const, value: secret } } : {}),
  };
}

/**
 * A shop's PaymentIntent is checked against the first invoice before it is attached
 * (docs.stripe.com/invoicing/partial-payments): same customer, same currency, the whole amount
 * due. Anything else fails the order by name with the ids the shop needs to refund or retry.
 */
export function checkShopPaymentIntent(
  intent: Stripe.PaymentIntent,
  invoice: { customerId: string; currency: string; amountDue: number },
  ids: StripeIds,
): void {
  const customer = typeof intent.customer === "string" ? intent.customer : intent.customer?.id;
  const fail = (code: string, why: string) => {
    throw new OrderFailure(
      code,
      `PaymentIntent ${intent.id} ${why}; invoice ${ids.invoiceId} was left open (refund or retry with these ids)`,
      { stripe: ids },
    );
  };
  if (customer !== invoice.customerId) {
    fail("payment_intent_foreign", `belongs to ${customer ?? "no customer"}, not ${invoice.customerId}`);
  }
  if (intent.currency !== invoice.currency) {
    fail("payment_intent_currency_mismatch", `is in ${intent.currency}, the invoice in ${invoice.currency}`);
  }
  if (intent.amount < invoice.amountDue) {
    fail("payment_intent_partial", `is for ${intent.amount}, the invoice is due ${invoice.amountDue}`);
  }
  if (intent.amount > invoice.amountDue) {
    fail(
      "payment_intent_amount_mismatch",
      `is for ${intent.amount}, the invoice is due ${invoice.amountDue}`,
    );
  }
}

export type PaymentVerdict = { paid: true } | { paid: false; code: string; message: string };

/** What Stripe's state says of an awaited payment; null while the customer may still act. */
export function awaitedPaymentVerdict(state: {
  invoice: Pick<Stripe.Invoice, "status">;
  subscriptionStatus: string | null;
  intent: Pick<Stripe.PaymentIntent, "status" | "last_payment_error"> | null;
}): PaymentVerdict | null {
  if (state.invoice.status === "paid") return { paid: true };
  if (state.invoice.status === "void" || state.invoice.status === "uncollectible") {
    return { paid: false, code: "payment_abandoned", message: `the invoice became ${state.invoice.status}` };
  }
  if (state.subscriptionStatus === "incomplete_expired") {
    return {
      paid: false,
      code: "payment_abandoned",
      message: "the first invoice was not paid in time (subscription incomplete_expired)",
    };
  }
  const error = state.intent?.last_payment_error;
  if (state.intent?.status === "requires_payment_method" && error) {
    return {
      paid: false,
      code: error.code ?? "payment_failed",
      message: `the customer's payment failed: ${error.message ?? error.code ?? "no reason given"}`,
    };
  }
  return null;
}

/**
 * An invoice / PaymentIntent event for an order waiting for its payment: Stripe's state is read
 * again (the event is not trusted) and the order finished once, `applied` when the invoice is
 * paid, `failed` when Stripe or the customer gave up. The verdict is a step, so duplicate and
 * out-of-order events finish the order the same way (outcome id `<orderId>:payment:outcome`).
 */
export async function completeAwaitedPayment(
  deps: WriterDeps,
  ref: { invoiceId?: string | undefined; paymentIntentId?: string | undefined },
  logger: Logger,
): Promise<{ order: OrderRef; result: ActionResult; outcomeId: string } | null> {
  const found = await findOrderAwaitingPayment(deps.db, ref);
  if (!found) return null;
  const awaited = found.result as AwaitedPayment;
  const row = await findOrder(deps.db, found.orderId);
  if (!row) return null;
  const recorded = limioOrderSchema.safeParse(row.payload);
  if (!recorded.success) throw new PoisonMessageError(`stored order ${found.orderId} no longer parses`);
  const steps = await loadOrderSteps({ db: deps.db, orderId: found.orderId, crash: deps.crash });
  const ctx = actionContext(
    deps,
    { orderId: found.orderId, subscriptionId: row.subscriptionId, source: row.source, order: recorded.data },
    steps,
    logger,
  );
  const prefix = found.step.slice(0, -"awaiting-payment".length);
  const verdictStep = `${prefix}payment-verdict`;
  // Recorded once: the first verdict stands whatever events arrive later.
  let verdict: PaymentVerdict | null = steps.isDone(verdictStep)
    ? await ctx.step<PaymentVerdict>(verdictStep, async () => ({ paid: true }))
    : null;
  if (!verdict) {
    const invoice = await classified(() => deps.stripe.invoices.retrieve(awaited.invoiceId));
    const subscriptionId = awaited.stripe.subscriptionId;
    const subscription = subscriptionId
      ? await classified(() => deps.stripe.subscriptions.retrieve(subscriptionId))
      : null;
    const intent = awaited.paymentIntentId
      ? await classified(() => deps.stripe.paymentIntents.retrieve(awaited.paymentIntentId as string))
      : null;
    const now = awaitedPaymentVerdict({ invoice, subscriptionStatus: subscription?.status ?? null, intent });
    if (!now) return null;
    verdict = await ctx.step<PaymentVerdict>(verdictStep, async () => now);
  }
  // A new order's fixed term is moved to Stripe's anchor only now: until its first invoice was
  // paid the subscription was `incomplete`, which Stripe does not let change (term-end.ts).
  if (verdict.paid && awaited.action === "subscription_created") await moveRecordedTermEnd(ctx);
  // Likewise a change_payment's new default for a subscription that was incomplete.
  if (verdict.paid && awaited.action === "payment_method_updated" && awaited.stripe.subscriptionId) {
    await setDeferredSubscriptionDefault(ctx, awaited.stripe.subscriptionId, prefix);
  }
  const order: OrderRef = {
    orderId: found.orderId,
    subscriptionId: row.subscriptionId,
    orderType: row.type as OrderOutcomeV1["orderType"],
  };
  const result: ActionResult = verdict.paid
    ? { status: "applied", action: awaited.action, stripe: awaited.stripe }
    : {
        status: "failed",
        action: "none",
        stripe: awaited.stripe,
        error: { code: verdict.code, message: verdict.message, stripeCode: verdict.code },
      };
  return { order, result, outcomeId: orderOutcomeMessageIds(found.orderId).payment };
}
