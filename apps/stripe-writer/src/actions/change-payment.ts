import { type LimioChangePaymentOrder, limioOrderSchema } from "@bridge/domain";
import { PoisonMessageError } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { findOrder } from "@bridge/store";
import { classified, type Stripe } from "@bridge/stripe-client";
import { awaitCustomerPayment } from "../awaiting-payment.ts";
import {
  type ActionContext,
  type ActionResult,
  actionContext,
  hookContext,
  type LinkedSubscription,
  limioMetadata,
  linkedSubscription,
  type WriterDeps,
} from "../context.ts";
import { invoicePaymentFailure, runAction } from "../failures.ts";
import type { OrderRef } from "../outcomes.ts";
import { loadOrderSteps } from "../steps.ts";
import { setSubscriptionDefault } from "../subscription-default.ts";

/**
 * Makes a confirmed PaymentMethod the default of the customer and of the subscription, then
 * pays an open (past-due or first) invoice of the subscription with it; an incomplete
 * subscription gets the default after that payment. `prefix` separates the steps of
 * the immediate path from those run when the SetupIntent succeeds later.
 */
async function adoptPaymentMethod(
  ctx: ActionContext,
  linked: LinkedSubscription,
  givenMethodId: string,
  options: { prefix: string; attach: boolean },
): Promise<ActionResult> {
  let paymentMethodId = givenMethodId;
  const { stripe, step } = ctx;
  const metadata = limioMetadata(ctx);
  const ids = { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId };
  const name = (s: string) => `${options.prefix}${s}`;
  if (options.attach) {
    // Stripe's test shortcuts (pm_card_…) attach as a new PaymentMethod: later calls use its id.
    const attached = await step(name("payment-method"), async (key) => {
      const pm = await stripe.paymentMethods.attach(
        paymentMethodId,
        { customer: linked.stripeCustomerId },
        { idempotencyKey: key },
      );
      return { paymentMethodId: pm.id };
    });
    paymentMethodId = attached.paymentMethodId;
  }
  await step(name("customer-default"), async (key) => {
    await stripe.customers.update(
      linked.stripeCustomerId,
      { invoice_settings: { default_payment_method: paymentMethodId }, metadata },
      { idempotencyKey: key },
    );
    return { paymentMethodId };
  });
  // An incomplete subscription takes its new default only once its first invoice is paid
  // (Stripe refuses it before: subscription-default.ts).
  const subscriptionDefault = () =>
    setSubscriptionDefault(ctx, linked.stripeSubscriptionId, paymentMethodId, options.prefix);
  const deferred =
    !ctx.steps.isDone(name("subscription-default")) &&
    (await stripe.subscriptions.retrieve(linked.stripeSubscriptionId)).status === "incomplete";
  if (!deferred) await subscriptionDefault();
  // A past-due invoice is paid with the new method at once (the reason customers change cards).
  const open = await step<{ invoiceId: string | null; amountDue: number; currency: string }>(
    name("open-invoice"),
    async () => {
      const invoice = (
        await stripe.invoices.list({ subscription: linked.stripeSubscriptionId, status: "open", limit: 1 })
      ).data[0];
      return {
        invoiceId: invoice?.id ?? null,
        amountDue: invoice?.amount_due ?? 0,
        currency: invoice?.currency ?? "",
      };
    },
  );
  if (open.invoiceId && open.amountDue > 0) {
    const invoiceId = open.invoiceId;
    // 3-D Secure (or a payment still processing): the order waits for the customer (decision 018).
    const awaitPayment = async () => {
      const awaited = await awaitCustomerPayment(ctx, {
        invoiceId,
        action: "payment_method_updated",
        stripe: { ...ids, invoiceId },
        prefix: options.prefix,
      });
      if (awaited.status === "applied" && deferred) await subscriptionDefault();
      return awaited;
    };
    let paid: { invoiceStatus: string | null };
    try {
      paid = await step(name("pay-invoice"), async (key) => {
        const params = await ctx.hooks.beforeStripePayInvoice(
          { payment_method: paymentMethodId, off_session: true },
          {
            ...hookContext(ctx, {
              stripeCustomerId: linked.stripeCustomerId,
              stripeSubscriptionId: linked.stripeSubscriptionId,
            }),
            invoiceId,
            amountDue: open.amountDue,
            currency: open.currency,
          },
        );
        const paid = await stripe.invoices.pay(invoiceId, params, { idempotencyKey: key });
        return { invoiceId, invoiceStatus: paid.status };
      });
    } catch (error) {
      return invoicePaymentFailure(error, awaitPayment, {
        stripe: { ...ids, invoiceId },
        describe: (message) => `payment method updated, but the open invoice was not paid: ${message}`,
      });
    }
    if (paid.invoiceStatus !== "paid") return awaitPayment();
  }
  if (deferred) await subscriptionDefault();
  return {
    status: "applied",
    action: "payment_method_updated",
    stripe: { ...ids, ...(open.invoiceId ? { invoiceId: open.invoiceId } : {}) },
  };
}

/**
 * `change_payment`: a PaymentMethod the shop already confirmed becomes the default at once;
 * otherwise a SetupIntent (off_session) is created and the order waits for the customer
 * (`requires_action` with its client secret), and
 * `completeChangePayment` finishes the change when `setup_intent.succeeded` arrives. A
 * PaymentIntent on the order is refused by the parser (field-rules.ts), so none reaches here.
 */
export async function changePayment(ctx: ActionContext): Promise<ActionResult> {
  const order = ctx.order as LimioChangePaymentOrder;
  const linked = await linkedSubscription(ctx);
  const paymentMethodId = order.stripePayment.paymentMethodId;
  if (paymentMethodId) return adoptPaymentMethod(ctx, linked, paymentMethodId, { prefix: "", attach: true });

  let clientSecret: string | undefined;
  const setup = await ctx.step<{ setupIntentId: string }>("setup-intent", async (key) => {
    const intent = await ctx.stripe.setupIntents.create(
      { customer: linked.stripeCustomerId, usage: "off_session", metadata: limioMetadata(ctx) },
      { idempotencyKey: key },
    );
    clientSecret = intent.client_secret ?? undefined;
    return { setupIntentId: intent.id };
  });
  const ids = {
    customerId: linked.stripeCustomerId,
    subscriptionId: linked.stripeSubscriptionId,
    setupIntentId: setup.setupIntentId,
  };
  // Redelivered after the SetupIntent already succeeded and the change was finished: report that,
  // not the start again (the Order row keeps its final outcome).
  if (ctx.steps.isDone("setup-succeeded.subscription-default")) {
    return { status: "applied", action: "payment_method_updated", stripe: ids };
  }
  // Resumed after the step: the secret is never stored, so read it again.
  clientSecret ??= (await ctx.stripe.setupIntents.retrieve(setup.setupIntentId)).client_secret ?? undefined;
  // Nothing changed in Stripe yet: the order waits for the customer to confirm the SetupIntent
  // (decision 018); `setup_intent.succeeded` finishes it.
  return {
    status: "requires_action",
    action: "payment_setup_started",
    stripe: {
      customerId: linked.stripeCustomerId,
      subscriptionId: linked.stripeSubscriptionId,
      setupIntentId: setup.setupIntentId,
    },
    ...(clientSecret ? { clientSecret: { type: "setup_intent" as const, value: clientSecret } } : {}),
  };
}

/**
 * The second half of a `change_payment` that started a SetupIntent: on `setup_intent.succeeded`
 * the intent is re-fetched (the event payload is not trusted), and its method becomes the default
 * of the customer and the subscription and pays an open invoice, as the immediate path does.
 * Runs in the context of the order as recorded (its steps continue under `setup-succeeded.`).
 * Null when the intent is not one of the writer's change_payment orders, or has not succeeded.
 */
export async function completeChangePayment(
  deps: WriterDeps,
  setupIntentId: string,
  logger: Logger,
): Promise<{ order: OrderRef; result: ActionResult } | null> {
  const intent: Stripe.SetupIntent = await classified(() => deps.stripe.setupIntents.retrieve(setupIntentId));
  const orderId = intent.metadata?.limio_order_id;
  if (!orderId || intent.status !== "succeeded") return null;
  const row = await findOrder(deps.db, orderId);
  if (row?.type !== "change_payment") {
    logger.warn({ setupIntentId, orderId }, "setup_intent.succeeded for an unknown order; ignored");
    return null;
  }
  const paymentMethodId =
    typeof intent.payment_method === "string" ? intent.payment_method : intent.payment_method?.id;
  if (!paymentMethodId) return null;
  const recorded = limioOrderSchema.safeParse(row.payload);
  if (!recorded.success) throw new PoisonMessageError(`stored order ${orderId} no longer parses`);

  const steps = await loadOrderSteps({ db: deps.db, orderId, crash: deps.crash });
  const ctx = actionContext(
    deps,
    { orderId, subscriptionId: row.subscriptionId, source: row.source, order: recorded.data },
    steps,
    logger,
  );
  const result = await runAction(async () => {
    const linked = await linkedSubscription(ctx);
    // A SetupIntent with a customer attaches the method itself.
    const adopted = await adoptPaymentMethod(ctx, linked, paymentMethodId, {
      prefix: "setup-succeeded.",
      attach: false,
    });
    return { ...adopted, stripe: { ...adopted.stripe, setupIntentId } };
  }, ctx);
  return { order: { orderId, subscriptionId: row.subscriptionId, orderType: "change_payment" }, result };
}
