import type { LimioChangePaymentOrder } from "@bridge/domain";
import { stripeFailureOf } from "@bridge/stripe-client";
import {
  type ActionContext,
  type ActionResult,
  hookContext,
  type LinkedSubscription,
  limioMetadata,
  linkedSubscription,
  OrderFailure,
} from "../context.ts";
import { isPermanentStripeError } from "../failures.ts";

/**
 * Makes a confirmed PaymentMethod the default of the customer and of the subscription, then
 * pays an open (past-due) invoice of the subscription with it. `prefix` separates the steps of
 * the immediate path from those run when the SetupIntent succeeds later.
 */
export async function adoptPaymentMethod(
  ctx: ActionContext,
  linked: LinkedSubscription,
  paymentMethodId: string,
  options: { prefix: string; attach: boolean },
): Promise<ActionResult> {
  const { stripe, step } = ctx;
  const metadata = limioMetadata(ctx);
  const ids = { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId };
  const name = (s: string) => `${options.prefix}${s}`;
  if (options.attach) {
    await step(name("payment-method"), async (key) => {
      await stripe.paymentMethods.attach(
        paymentMethodId,
        { customer: linked.stripeCustomerId },
        { idempotencyKey: key },
      );
      return { paymentMethodId };
    });
  }
  await step(name("customer-default"), async (key) => {
    await stripe.customers.update(
      linked.stripeCustomerId,
      { invoice_settings: { default_payment_method: paymentMethodId }, metadata },
      { idempotencyKey: key },
    );
    return { paymentMethodId };
  });
  await step(name("subscription-default"), async (key) => {
    await stripe.subscriptions.update(
      linked.stripeSubscriptionId,
      { default_payment_method: paymentMethodId, metadata },
      { idempotencyKey: key },
    );
    return { paymentMethodId };
  });
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
    try {
      await step(name("pay-invoice"), async (key) => {
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
      if (!isPermanentStripeError(error)) throw error;
      const failure = stripeFailureOf(error);
      throw new OrderFailure(
        failure.code,
        `payment method updated, but the open invoice was not paid: ${failure.message}`,
        {
          stripeCode: failure.declineCode ?? failure.code,
          stripe: { ...ids, invoiceId },
          cause: error,
        },
      );
    }
  }
  return {
    status: "applied",
    action: "payment_method_updated",
    stripe: { ...ids, ...(open.invoiceId ? { invoiceId: open.invoiceId } : {}) },
  };
}

/**
 * `change_payment`: a PaymentMethod the shop already confirmed becomes the default at once;
 * otherwise a SetupIntent (off_session) is created and its client secret returned, and the
 * writer finishes the change when `setup_intent.succeeded` arrives (setup-intent-succeeded.ts).
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
  return {
    status: "applied",
    action: "payment_setup_started",
    stripe: {
      customerId: linked.stripeCustomerId,
      subscriptionId: linked.stripeSubscriptionId,
      setupIntentId: setup.setupIntentId,
    },
    ...(clientSecret ? { clientSecret: { type: "setup_intent" as const, value: clientSecret } } : {}),
  };
}
