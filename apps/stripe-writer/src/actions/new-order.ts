import { buildPriceParams, fullName, type LimioNewOrder, type Offer, stripeAddress } from "@bridge/domain";
import type Stripe from "stripe";
import { awaitCustomerPayment, checkShopPaymentIntent } from "../awaiting-payment.ts";
import {
  type ActionContext,
  type ActionResult,
  hookContext,
  limioMetadata,
  loadOffer,
  OrderFailure,
  type StripeIds,
} from "../context.ts";
import { invoicePaymentFailure } from "../failures.ts";

/** `paymentMethodId`: the customer's attached method as Stripe names it (see below). */
type CustomerStep = { customerId: string; created: boolean; paymentMethodId?: string };
type PriceStep = { priceId: string; recurring: boolean; created: boolean };
type SubscriptionStep = {
  subscriptionId: string;
  status: string;
  invoiceId: string | null;
  invoiceStatus: string | null;
  amountDue: number;
  currency: string;
};

/** Stripe matches emails exactly; Limio forms do not normalise them, so we do (trimmed, lowercased). */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Customer fields from the order: billing → `address`, delivery → `shipping`, name / phone / email. */
export function customerDetails(order: LimioNewOrder): Stripe.CustomerUpdateParams & { email: string } {
  const billing = order.billingDetails;
  const delivery = order.deliveryDetails;
  const name = fullName(order.customerDetails ?? {}) ?? fullName(billing);
  const phone = order.customerDetails?.phone || billing.phone || undefined;
  const address = stripeAddress(billing);
  const shippingAddress = delivery ? stripeAddress(delivery) : {};
  const shippingName = delivery ? (fullName(delivery) ?? name) : undefined;
  return {
    email: normaliseEmail(order.email),
    ...(name ? { name } : {}),
    ...(phone ? { phone } : {}),
    ...(Object.keys(address).length > 0 ? { address } : {}),
    ...(Object.keys(shippingAddress).length > 0 && shippingName
      ? {
          shipping: {
            name: shippingName,
            address: shippingAddress,
            ...(delivery?.phone ? { phone: delivery.phone } : {}),
          },
        }
      : {}),
  };
}

/**
 * `new` (Order Submitted): customer (matched by email or created) → product → one price per
 * charge → subscription (default_incomplete) → first payment (PaymentIntent attached, or the
 * PaymentMethod charged, or the invoice's confirmation secret handed to the shop).
 */
export async function newOrder(ctx: ActionContext): Promise<ActionResult> {
  const order = ctx.order as LimioNewOrder;
  const { stripe, step } = ctx;
  const metadata = limioMetadata(ctx);
  const [item, ...others] = order.orderItems;
  if (!item || others.length > 0) {
    throw new OrderFailure("unsupported_order", "a new order must carry exactly one order item (one offer)");
  }
  const offer: Offer = await loadOffer(ctx.db, item.offer);
  const quantity = item.quantity ?? 1;
  const { paymentMethodId, paymentIntentId } = order.stripePayment;
  const details = customerDetails(order);

  // 1. Customer: matched by email whatever its case in Stripe (lookups.findCustomerByEmail), else
  // created with everything at once (payment method included).
  const customer = await step<CustomerStep>("customer", async (key) => {
    const found = await ctx.lookups.findCustomerByEmail(order.email);
    if (found) return { customerId: found.id, created: found.metadata?.limio_order_id === ctx.orderId };
    const created = await stripe.customers.create(
      {
        ...(details as Stripe.CustomerCreateParams),
        metadata,
        ...(paymentMethodId && !paymentIntentId
          ? { payment_method: paymentMethodId, invoice_settings: { default_payment_method: paymentMethodId } }
          : {}),
      },
      { idempotencyKey: key },
    );
    const attached = created.invoice_settings?.default_payment_method;
    return {
      customerId: created.id,
      created: true,
      ...(typeof attached === "string" ? { paymentMethodId: attached } : {}),
    };
  });
  // The id Stripe gives the attached method: the shop's own `pm_…` id, but a new one for Stripe's
  // test shortcuts (pm_card_visa…), which attach as a fresh object. Later calls use this one.
  let attachedMethodId = customer.paymentMethodId ?? paymentMethodId;
  const ids: StripeIds = { customerId: customer.customerId };

  // An existing customer gets the PaymentMethod attached, then billing details and the default updated.
  if (!customer.created) {
    if (paymentMethodId && !paymentIntentId) {
      const attached = await step("payment-method", async (key) => {
        const pm = await stripe.paymentMethods.attach(
          paymentMethodId,
          { customer: customer.customerId },
          { idempotencyKey: key },
        );
        return { paymentMethodId: pm.id };
      });
      attachedMethodId = attached.paymentMethodId;
    }
    await step("customer-update", async (key) => {
      await stripe.customers.update(
        customer.customerId,
        {
          ...details,
          metadata,
          ...(attachedMethodId && !paymentIntentId
            ? { invoice_settings: { default_payment_method: attachedMethodId } }
            : {}),
        },
        { idempotencyKey: key },
      );
      return { customerId: customer.customerId };
    });
  }

  // 2. Product (deterministic id from the catalog) and 3. one Price per charge, reused by lookup key.
  await step("product", (key) => ctx.lookups.ensureProduct(offer, key, metadata));
  const prices: PriceStep[] = [];
  for (let i = 0; i < offer.charges.length; i++) {
    prices.push(
      await step<PriceStep>(`price.${i}`, (key) =>
        ctx.lookups.resolvePrice(buildPriceParams(offer, i), key, metadata),
      ),
    );
  }
  const recurring = prices.filter((p) => p.recurring);
  const oneOff = prices.filter((p) => !p.recurring);
  if (recurring.length === 0) {
    throw new OrderFailure(
      "unsupported_offer",
      `offer '${offer.id}' has no recurring charge to subscribe to`,
    );
  }

  // 4. Subscription, after the beforeStripeSubscription hook.
  const subscription = await step<SubscriptionStep>("subscription", async (key) => {
    const base: Stripe.SubscriptionCreateParams = {
      customer: customer.customerId,
      items: recurring.map((p) => ({ price: p.priceId, quantity })),
      ...(oneOff.length > 0
        ? { add_invoice_items: oneOff.map((p) => ({ price: p.priceId, quantity })) }
        : {}),
      payment_behavior: "default_incomplete",
      payment_settings: { save_default_payment_method: "on_subscription" },
      ...(attachedMethodId && !paymentIntentId ? { default_payment_method: attachedMethodId } : {}),
      metadata: { ...metadata, limio_offer_id: offer.id },
      expand: ["latest_invoice"],
    };
    const params = await ctx.hooks.beforeStripeSubscription(
      base,
      hookContext(ctx, { offer, stripeCustomerId: customer.customerId }),
    );
    const created = await stripe.subscriptions.create(params, { idempotencyKey: key });
    const invoice = created.latest_invoice as Stripe.Invoice | null;
    return {
      subscriptionId: created.id,
      status: created.status,
      invoiceId: invoice?.id ?? null,
      invoiceStatus: invoice?.status ?? null,
      amountDue: invoice?.amount_due ?? 0,
      currency: created.currency,
    };
  });
  ids.subscriptionId = subscription.subscriptionId;
  if (subscription.invoiceId) ids.invoiceId = subscription.invoiceId;
  const applied = (): ActionResult => ({ status: "applied", action: "subscription_created", stripe: ids });
  if (!subscription.invoiceId || subscription.invoiceStatus !== "open" || subscription.amountDue === 0) {
    return applied();
  }
  const invoiceId = subscription.invoiceId;

  // 5. First payment. Anything that leaves the invoice unpaid waits for the customer (decision 018).
  const awaitPayment = () =>
    awaitCustomerPayment(ctx, { invoiceId, action: "subscription_created", stripe: ids });
  if (paymentIntentId) {
    ids.paymentIntentId = paymentIntentId;
    const intent = await stripe.paymentIntents.retrieve(paymentIntentId);
    checkShopPaymentIntent(intent, { customerId: customer.customerId, ...subscription }, ids);
    const paid = await step("payment", async (key) => {
      const invoice = await stripe.invoices.attachPayment(
        invoiceId,
        { payment_intent: paymentIntentId },
        { idempotencyKey: key },
      );
      return { invoiceStatus: invoice.status };
    });
    return paid.invoiceStatus === "paid" ? applied() : awaitPayment();
  }
  if (attachedMethodId) {
    let paid: { invoiceStatus: string | null };
    try {
      paid = await step("payment", async (key) => {
        const params = await ctx.hooks.beforeStripePayInvoice(
          { payment_method: attachedMethodId, off_session: true },
          {
            ...hookContext(ctx, {
              offer,
              stripeCustomerId: customer.customerId,
              stripeSubscriptionId: subscription.subscriptionId,
            }),
            invoiceId,
            amountDue: subscription.amountDue,
            currency: subscription.currency,
          },
        );
        const invoice = await stripe.invoices.pay(invoiceId, params, { idempotencyKey: key });
        return { invoiceStatus: invoice.status };
      });
    } catch (error) {
      // A decline fails the order (the subscription stays incomplete); the ids tell the shop which.
      return invoicePaymentFailure(error, awaitPayment, { stripe: ids });
    }
    return paid.invoiceStatus === "paid" ? applied() : awaitPayment();
  }

  // No payment details: the shop confirms the first invoice with its confirmation secret.
  return awaitPayment();
}
