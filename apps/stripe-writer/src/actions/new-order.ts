import {
  fullName,
  type LimioNewOrder,
  type NewOrderPlan,
  type Offer,
  type PlannedCharge,
  planNewOrder,
  planRefusals,
  stripeAddress,
  subscriptionCreateMetadata,
  subscriptionCreateParams,
} from "@bridge/domain";
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
import { existingOrClaimedCustomer } from "../customers.ts";
import { invoicePaymentFailure } from "../failures.ts";
import { CouponMismatch } from "../lookups.ts";
import { moveTermEnd } from "../term-end.ts";

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
  /** Stripe's billing anchor and `cancel_at` as created (absent in steps recorded before they were kept). */
  billingCycleAnchor?: number;
  cancelAt?: number | null;
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

/** Every catalog offer the order names (items and add-ons); an unknown one fails the order. */
async function loadOrderOffers(ctx: ActionContext, order: LimioNewOrder): Promise<Map<string, Offer>> {
  // The version each names, when it names one (decision 022); the first mention of an id wins.
  const refs = order.orderItems.flatMap((item) => [
    item.offer,
    ...(item.addOns ?? []).flatMap((a) => a.addOn ?? a.offer ?? []),
  ]);
  const offers = new Map<string, Offer>();
  for (const ref of refs) if (!offers.has(ref.id)) offers.set(ref.id, await loadOffer(ctx.db, ref));
  return offers;
}

/** The plan as recorded in its step (JSON): dates as unix seconds. */
type RecordedPlan = Omit<NewOrderPlan, "billingStart" | "trialEnd" | "cancelAt"> & {
  billingStart: number;
  trialEnd?: number;
  cancelAt?: number;
};
const toUnix = (d: Date) => Math.floor(d.getTime() / 1000);
const fromUnix = (s: number) => new Date(s * 1000);
export function recordPlan({ billingStart, trialEnd, cancelAt, ...rest }: NewOrderPlan): RecordedPlan {
  return {
    ...rest,
    billingStart: toUnix(billingStart),
    ...(trialEnd ? { trialEnd: toUnix(trialEnd) } : {}),
    ...(cancelAt ? { cancelAt: toUnix(cancelAt) } : {}),
  };
}
export function replayPlan({ billingStart, trialEnd, cancelAt, ...rest }: RecordedPlan): NewOrderPlan {
  return {
    ...rest,
    billingStart: fromUnix(billingStart),
    ...(trialEnd !== undefined ? { trialEnd: fromUnix(trialEnd) } : {}),
    ...(cancelAt !== undefined ? { cancelAt: fromUnix(cancelAt) } : {}),
  };
}

/**
 * The order's Stripe plan (rules/new-order-plan.ts), before any Stripe write: a field Stripe
 * cannot express, a plan part the writer does not execute yet, or a `total` that differs from
 * what Stripe would bill today fails the order naming the field (`unsupported_field`).
 */
async function planOrder(ctx: ActionContext, order: LimioNewOrder, now: Date): Promise<NewOrderPlan> {
  const offers = await loadOrderOffers(ctx, order);
  const plan = planNewOrder({ order, findOffer: (id) => offers.get(id), now });
  const refusals = planRefusals(plan);
  if (refusals.length > 0) {
    throw new OrderFailure("unsupported_field", refusals.map((r) => `${r.path}: ${r.message}`).join("; "));
  }
  return plan;
}

/** Stripe's "now" for a customer: its test clock's frozen time when it has one (dates of the plan). */
async function stripeNowFor(stripe: Stripe, customer: Stripe.Customer | undefined): Promise<Date> {
  const clock = customer?.test_clock;
  if (!clock) return new Date();
  const clockId = typeof clock === "string" ? clock : clock.id;
  return fromUnix((await stripe.testHelpers.testClocks.retrieve(clockId)).frozen_time);
}

/** Limio's term on the subscription, so the sync shows Limio's term rather than the billing period. */
const hasTotal = (order: LimioNewOrder) => order.total?.amount !== undefined && order.total.amount !== "";

/** The step of a planned charge's Price: `price.<n>` over the items, then the one-off charges. */
const chargeKey = (c: PlannedCharge) => `${c.path}#${c.chargeIndex}`;

/**
 * `new` (Order Submitted) executes the domain's planNewOrder (docs/decisions/020): customer
 * (matched by email or created) → products → one Price per planned charge → the discount's coupon
 * → ONE subscription (default_incomplete) with every recurring charge co-termed, one-off charges
 * on its first invoice, the trial of a later start and the cancel_at of a fixed term → first
 * payment (PaymentIntent attached, or the PaymentMethod charged, or the invoice's confirmation
 * secret handed to the shop).
 */
export async function newOrder(ctx: ActionContext): Promise<ActionResult> {
  const order = ctx.order as LimioNewOrder;
  const { stripe, step } = ctx;
  const metadata = limioMetadata(ctx);
  const { paymentMethodId, paymentIntentId } = order.stripePayment;
  const details = customerDetails(order);

  // 0. The plan, recorded before any write so a resumed order sends the same parameters. Its
  // clock is the customer's in Stripe (a test clock's time when the customer has one).
  let lookedUp: { customer: Stripe.Customer | undefined } | undefined;
  const plan = replayPlan(
    await step<RecordedPlan>("plan", async () => {
      lookedUp = { customer: await ctx.lookups.findCustomerByEmail(order.email) };
      return recordPlan(await planOrder(ctx, order, await stripeNowFor(stripe, lookedUp.customer)));
    }),
  );
  const offers = await loadOrderOffers(ctx, order);
  const offer = offers.get(plan.offerId)!;

  // 1. Customer: matched by email whatever its case in Stripe, else created with everything at
  // once (payment method included) by the one order holding the email's claim (decision 019).
  const customer = await step<CustomerStep>("customer", async (key) => {
    const found = lookedUp?.customer;
    const existing = found
      ? { customerId: found.id, created: found.metadata?.limio_order_id === ctx.orderId }
      : await existingOrClaimedCustomer(ctx, order.email);
    if (existing) return existing;
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
  ctx.stripeCustomers.add(customer.customerId);
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

  // 2. Products (deterministic ids from the catalog), 3. one Price per planned charge, reused by
  // lookup key, 4. the discount's coupon, reused by its deterministic id.
  const productIds = [...new Set([...offers.values()].map((o) => o.stripeProductCode))];
  for (const [i, productId] of productIds.entries()) {
    const productOffer = [...offers.values()].find((o) => o.stripeProductCode === productId)!;
    await step(i === 0 ? "product" : `product.${i}`, (key) =>
      ctx.lookups.ensureProduct(productOffer, key, metadata),
    );
  }
  const priceIds = new Map<string, string>();
  for (const [i, charge] of [...plan.items, ...plan.addInvoiceItems].entries()) {
    const resolved = await step<PriceStep>(`price.${i}`, (key) =>
      ctx.lookups.resolvePrice(charge.price, key, metadata),
    );
    priceIds.set(chargeKey(charge), resolved.priceId);
  }
  const coupon = plan.coupon;
  if (coupon) {
    await step("coupon", async (key) => {
      try {
        return await ctx.lookups.ensureCoupon(coupon, key, metadata);
      } catch (error) {
        if (error instanceof CouponMismatch)
          throw new OrderFailure("unsupported_field", `orderDiscount: ${error.message}`, { stripe: ids });
        throw error;
      }
    });
  }

  // 5. Subscription, after the beforeStripeSubscription hook.
  const subscription = await step<SubscriptionStep>("subscription", async (key) => {
    const base: Stripe.SubscriptionCreateParams = {
      customer: customer.customerId,
      ...subscriptionCreateParams(plan, (c) => priceIds.get(chargeKey(c))!),
      payment_behavior: "default_incomplete",
      payment_settings: { save_default_payment_method: "on_subscription" },
      ...(attachedMethodId && !paymentIntentId ? { default_payment_method: attachedMethodId } : {}),
      metadata: { ...metadata, ...subscriptionCreateMetadata(plan) },
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
      billingCycleAnchor: created.billing_cycle_anchor,
      cancelAt: created.cancel_at,
    };
  });
  ids.subscriptionId = subscription.subscriptionId;

  // 5b. A fixed term's end moved to Stripe's billing anchor (step `term-end`), once Stripe lets
  // the subscription change: after the first invoice is paid, or at once when nothing is due.
  const termPlan = { term: plan.term, ...(plan.cancelAt ? { cancelAt: toUnix(plan.cancelAt) } : {}) };
  const settleTermEnd = () => moveTermEnd(ctx, termPlan, subscription);
  if (subscription.invoiceId) ids.invoiceId = subscription.invoiceId;
  const applied = async (): Promise<ActionResult> => {
    await settleTermEnd();
    return { status: "applied", action: "subscription_created", stripe: ids };
  };
  // Never applied with another amount than the order's total: Stripe's first invoice is checked
  // against the plan (a hook may have changed the parameters), and voided when it differs.
  if (hasTotal(order) && subscription.amountDue !== plan.amountDueToday) {
    const invoiceId = subscription.invoiceId;
    if (invoiceId && subscription.invoiceStatus === "open") {
      await step("void-invoice", async (key) => {
        await stripe.invoices.voidInvoice(invoiceId, {}, { idempotencyKey: key });
        return { invoiceId };
      });
    }
    throw new OrderFailure(
      "amount_mismatch",
      `total: Stripe's first invoice bills ${subscription.amountDue}, the order's total is ${plan.amountDueToday} (minor units); not applied`,
      { stripe: ids },
    );
  }
  // Applied when Stripe's state proves it: nothing left to pay on the first invoice (paid, or $0
  // as in a trial) and the subscription active or trialing (docs/decisions/020).
  if (!subscription.invoiceId || subscription.invoiceStatus === "paid" || subscription.amountDue === 0) {
    if (subscription.status === "active" || subscription.status === "trialing") return await applied();
    throw new OrderFailure(
      "unexpected_state",
      `subscription ${subscription.subscriptionId} is ${subscription.status} with nothing to pay`,
      { stripe: ids },
    );
  }
  const invoiceId = subscription.invoiceId;

  // 5. First payment. Anything that leaves the invoice unpaid waits for the customer (decision 018).
  const awaitPayment = async () => {
    const awaited = await awaitCustomerPayment(ctx, {
      invoiceId,
      action: "subscription_created",
      stripe: ids,
    });
    // Already paid (by the shop, or an earlier delivery): the subscription has left `incomplete`.
    if (awaited.status === "applied") await settleTermEnd();
    return awaited;
  };
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
    return paid.invoiceStatus === "paid" ? await applied() : await awaitPayment();
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
    return paid.invoiceStatus === "paid" ? await applied() : await awaitPayment();
  }

  // No payment details: the shop confirms the first invoice with its confirmation secret.
  return awaitPayment();
}
