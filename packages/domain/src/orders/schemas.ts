import { z } from "zod";
import {
  limioCustomerId,
  limioIdentityId,
  limioOrderId,
  limioReference,
  limioSubscriptionId,
  stripePaymentIntentId,
  stripePaymentMethodId,
  stripeSetupIntentId,
} from "../ids.ts";

/**
 * Limio orders as Limio (shop, Salesforce, Send Order API) sends them; field names from Limio's
 * Orders API and its front-end Flow types. The schemas type and validate values; WHICH fields
 * an order may carry is decided by the field table (field-rules.ts), checked before these run:
 * a field it does not list is refused, so the loose objects here never carry an unknown field
 * that could change what a customer pays.
 */

/** Shop forms post untouched inputs as "", which means "not given", not "invalid". */
const countryCode = z.string().regex(/^[A-Z]{2}$/, "expected an ISO 3166-1 alpha-2 country code");
const optionalEmail = z.union([z.literal(""), z.email()]).optional();

/** Limio's Address shape (billingDetails, deliveryDetails, change_address `address`). */
export const limioAddressSchema = z
  .object({
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    email: optionalEmail,
    workEmail: z.string().optional(),
    phone: z.string().optional(),
    workPhone: z.string().optional(),
    otherPhone: z.string().optional(),
    company: z.string().optional(),
    address1: z.string().optional(),
    address2: z.string().optional(),
    city: z.string().optional(),
    state: z.string().optional(),
    postalCode: z.string().optional(),
    country: z.union([z.literal(""), countryCode]).optional(),
  })
  .loose();
export type LimioAddress = z.infer<typeof limioAddressSchema>;

export const limioCustomerDetailsSchema = z
  .object({
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    email: optionalEmail,
    phone: z.string().optional(),
    companyName: z.string().optional(),
  })
  .loose();

/** A Stripe.js object names its PaymentMethod by id, or expanded as an object with one. */
const paymentMethodRef = z.union([stripePaymentMethodId, z.object({ id: stripePaymentMethodId }).loose()]);

/**
 * What Stripe.js resolves with (docs.stripe.com/js): createPaymentMethod → `{ paymentMethod }`,
 * confirmCardPayment → `{ paymentIntent }`, confirmCardSetup → `{ setupIntent }`, any of them →
 * `{ error }`. The bare ids older shops send are accepted as well. parseLimioOrder refuses an
 * `error` result by name (so it is no property here: nothing documents it as accepted) and keeps
 * only the ids (never the intents' client_secret or card details).
 */
const stripeResultSchema = z
  .object({
    paymentMethod: paymentMethodRef.optional(),
    payment_method: stripePaymentMethodId.optional(),
    paymentIntent: z
      .union([
        stripePaymentIntentId,
        z.object({ id: stripePaymentIntentId, payment_method: paymentMethodRef.nullish() }).loose(),
      ])
      .optional(),
    payment_intent: stripePaymentIntentId.optional(),
    setupIntent: z
      .object({
        id: stripeSetupIntentId,
        status: z.literal("succeeded", {
          error: "expected a confirmed SetupIntent (status succeeded): confirm it in the browser first",
        }),
        payment_method: paymentMethodRef,
      })
      .loose()
      .optional(),
  })
  .loose();

/**
 * Limio `OrderPayment`: `{ type, stripe?: { result }, … }`. The shop has already talked to Stripe
 * Elements, so a Stripe payment carries a PaymentMethod (`pm_…`), a PaymentIntent (`pi_…`) or a
 * confirmed SetupIntent (its PaymentMethod), as ids at the top level or under `stripe`, or as
 * Stripe.js returned them under `stripe.result`.
 */
export const limioPaymentSchema = z
  .object({
    type: z.string().min(1).optional(),
    paymentMethodId: stripePaymentMethodId.optional(),
    paymentIntentId: stripePaymentIntentId.optional(),
    stripe: stripeResultSchema.extend({ result: stripeResultSchema.optional() }).optional(),
  })
  .loose();
export type LimioPayment = z.infer<typeof limioPaymentSchema>;

export const limioOfferRefSchema = z
  .object({ id: z.string().min(1), version: z.string().min(1).optional() })
  .loose();

/** Limio's shop writes `{ addOn: { id, version, … }, quantity }`. */
export const limioAddOnSchema = z
  .object({
    addOn: limioOfferRefSchema.optional(),
    offer: limioOfferRefSchema.optional(),
    quantity: z.number().int().positive().default(1),
  })
  .loose();

export const limioOrderItemSchema = z
  .object({
    offer: limioOfferRefSchema,
    quantity: z.number().int().positive().default(1),
    addOns: z.array(limioAddOnSchema).optional(),
  })
  .loose();

/** A switch names its offer only: the subscription's quantities are kept (no default here). */
export const limioSwitchItemSchema = z.object({ offer: limioOfferRefSchema }).loose();

const decimal = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?$/, "expected a decimal amount"),
]);

/** Limio's `orderDiscount` (Orders API); mapped by rules/discounts.ts. */
export const limioOrderDiscountSchema = z
  .object({
    name: z.string().optional(),
    productDetails: z.unknown().optional(),
    discountOverrides: z
      .object({
        discountType: z.string().optional(),
        durationLength: z.union([z.number(), z.string()]).optional(),
        durationType: z.string().optional(),
        percentageDiscount: z.union([z.number(), z.string()]).optional(),
        amountDiscount: z.union([z.number(), z.string()]).optional(),
        currency: z.string().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export const limioOrderTotalSchema = z
  .object({ amount: decimal.optional(), currency: z.string().optional() })
  .loose();

const isoDateOrDateTime = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** Fields every order type may carry. */
const orderBase = {
  id: limioOrderId.optional(),
  source: z.string().min(1).optional(),
  initiated_source: z.string().min(1).optional(),
  external_id: z.string().min(1).optional(),
  process_immediately: z.boolean().optional(),
  orderDate: isoDateOrDateTime.optional(),
  // Limio's own references and identity: used as they are when given (the gateway mints them
  // only when absent), so Limio and the bridge name the order and subscription alike.
  order_reference: limioReference.optional(),
  sub_reference: limioReference.optional(),
  owner: limioIdentityId.optional(),
  // Limio names the target subscription either way; parseLimioOrder normalises to subscriptionId.
  subscriptionId: limioSubscriptionId.optional(),
  forSubscription: z.object({ id: limioSubscriptionId }).loose().optional(),
  customerId: limioCustomerId.optional(),
};

export const limioNewOrderSchema = z
  .object({
    ...orderBase,
    order_type: z.literal("new"),
    orderItems: z.array(limioOrderItemSchema).min(1, "a new order needs at least one order item"),
    billingDetails: limioAddressSchema,
    deliveryDetails: limioAddressSchema.optional(),
    customerDetails: limioCustomerDetailsSchema.optional(),
    payment: limioPaymentSchema,
    checkoutId: z.string().min(1),
    country: countryCode,
    autoRenew: z.boolean().optional(),
    orderDiscount: limioOrderDiscountSchema.nullable().optional(),
    isGift: z.boolean().optional(),
    isRedeem: z.boolean().optional(),
    isTrial: z.boolean().optional(),
    total: limioOrderTotalSchema.optional(),
  })
  .loose();

export const cancelReasonSchema = z.union([
  z.string(),
  z.object({ id: z.string().optional(), feedback: z.string().optional() }).loose(),
]);

export const limioCancelSubscriptionOrderSchema = z
  .object({
    ...orderBase,
    order_type: z.literal("cancel_subscription"),
    subscriptionRef: z.string().optional(),
    cancelDate: isoDateOrDateTime.optional(),
    effectiveDate: isoDateOrDateTime.optional(),
    reason: cancelReasonSchema.optional(),
    data: z.object({ reason: cancelReasonSchema.optional() }).loose().optional(),
  })
  .loose();

export const addressTypes = ["billing", "delivery", "all"] as const;
export type AddressType = (typeof addressTypes)[number];

export const limioChangeAddressOrderSchema = z
  .object({
    ...orderBase,
    order_type: z.literal("change_address"),
    /** Absent: the kind of details sent (deliveryDetails alone → delivery), else the writer's configured type (rules/address.ts). */
    type: z.enum(addressTypes).optional(),
    address: limioAddressSchema.optional(),
    billingDetails: limioAddressSchema.optional(),
    deliveryDetails: limioAddressSchema.optional(),
    customerDetails: limioCustomerDetailsSchema.optional(),
  })
  .loose();

export const limioChangePaymentOrderSchema = z
  .object({
    ...orderBase,
    order_type: z.literal("change_payment"),
    payment: limioPaymentSchema.optional(),
    billingDetails: limioAddressSchema.optional(),
  })
  .loose();

export const limioChangeOfferOrderSchema = z
  .object({
    ...orderBase,
    order_type: z.literal("change_offer"),
    offer: limioOfferRefSchema.optional(),
    orderItems: z.array(limioSwitchItemSchema).optional(),
    effectiveDate: isoDateOrDateTime.optional(),
    change_type: z.string().optional(),
  })
  .loose();

export const supportedOrderTypes = [
  "new",
  "cancel_subscription",
  "change_address",
  "change_payment",
  "change_offer",
] as const;
export type SupportedOrderType = (typeof supportedOrderTypes)[number];

/** Order types Limio's own code emits that this bridge recognises but does not apply (yet). */
export const unsupportedOrderTypes = [
  "renew",
  "update_subscription",
  "add_offer",
  "add_charge",
  "gift_refund",
  "gift_redemption",
  "pay_invoice",
  "change_external_payment",
  "cancel_intent",
  "refund",
] as const;

export const orderSchemasByType = {
  new: limioNewOrderSchema,
  cancel_subscription: limioCancelSubscriptionOrderSchema,
  change_address: limioChangeAddressOrderSchema,
  change_payment: limioChangePaymentOrderSchema,
  change_offer: limioChangeOfferOrderSchema,
} as const;
