import { z } from "zod";
import { addressChangeRefusals, impliedAddressType, newOrderCustomerRefusals } from "../rules/address.ts";
import { checkOrderFields, type FeatureSet } from "./field-rules.ts";
import {
  type LimioPayment,
  type limioCancelSubscriptionOrderSchema,
  type limioChangeAddressOrderSchema,
  type limioChangeOfferOrderSchema,
  type limioChangePaymentOrderSchema,
  type limioNewOrderSchema,
  orderSchemasByType,
  type SupportedOrderType,
  supportedOrderTypes,
  unsupportedOrderTypes,
} from "./schemas.ts";

/** Stripe ids the shop collected, whichever field Limio put them in. */
export type StripePaymentRefs = { paymentMethodId?: string; paymentIntentId?: string };

type OfferRef = { id: string; version?: string; [k: string]: unknown };

export type LimioNewOrder = z.infer<typeof limioNewOrderSchema> & {
  stripePayment: StripePaymentRefs;
  email: string;
};
export type LimioCancelSubscriptionOrder = z.infer<typeof limioCancelSubscriptionOrderSchema> & {
  subscriptionId: string;
};
export type LimioChangeAddressOrder = z.infer<typeof limioChangeAddressOrderSchema> & {
  subscriptionId: string;
};
export type LimioChangePaymentOrder = z.infer<typeof limioChangePaymentOrderSchema> & {
  subscriptionId: string;
  stripePayment: StripePaymentRefs;
};
export type LimioChangeOfferOrder = z.infer<typeof limioChangeOfferOrderSchema> & {
  subscriptionId: string;
  offer: OfferRef;
};
/** A validated, normalised Limio order: one `subscriptionId`, one `offer` for switches, payment ids lifted. */
export type LimioOrder =
  | LimioNewOrder
  | LimioCancelSubscriptionOrder
  | LimioChangeAddressOrder
  | LimioChangePaymentOrder
  | LimioChangeOfferOrder;

export type OrderFieldError = { path: string; message: string };
/**
 * - invalid_order: a value is malformed (wrong type, bad id…);
 * - unsupported_order_type: the bridge does not apply this `order_type`;
 * - unsupported_field: a field is well formed but cannot be honoured in Stripe (yet), or is
 *   unknown: refused by name rather than dropped (field-rules.ts).
 */
export type ParseErrorCode = "invalid_order" | "unsupported_order_type" | "unsupported_field";
export type ParseLimioOrderResult =
  | { ok: true; order: LimioOrder }
  | { ok: false; code: ParseErrorCode; errors: OrderFieldError[] };

export type ParseOptions = {
  /** The clock, for dates that are ahead (a future orderDate or effectiveDate). */
  now?: Date;
  /** Which features the writer executes; defaults to WRITER_FEATURES. */
  features?: FeatureSet;
};

export const ROOT_PATH = "(root)";
const formatPath = (path: readonly PropertyKey[]) =>
  path.length === 0 ? ROOT_PATH : path.map(String).join(".");

const supportedList = supportedOrderTypes.join(", ");
const fail = (code: ParseErrorCode, errors: OrderFieldError[]): ParseLimioOrderResult => ({
  ok: false,
  code,
  errors,
});

type StripeResult = NonNullable<NonNullable<LimioPayment["stripe"]>["result"]>;
type MethodRef = string | { id: string } | null | undefined;
const idOf = (ref: MethodRef) => (typeof ref === "string" ? ref : ref?.id);

export function stripePaymentRefs(payment: LimioPayment | undefined): StripePaymentRefs {
  if (!payment) return {};
  const s = payment.stripe;
  const r = s?.result;
  const intent = (i: StripeResult["paymentIntent"]) => (typeof i === "string" ? i : i?.id);
  const paymentMethodId =
    payment.paymentMethodId ??
    idOf(s?.paymentMethod) ??
    s?.payment_method ??
    idOf(r?.paymentMethod) ??
    r?.payment_method ??
    // A confirmed SetupIntent (confirmCardSetup) saved this PaymentMethod for the subscription.
    idOf(r?.setupIntent?.payment_method ?? s?.setupIntent?.payment_method);
  const paymentIntentId =
    payment.paymentIntentId ??
    intent(s?.paymentIntent) ??
    s?.payment_intent ??
    intent(r?.paymentIntent) ??
    r?.payment_intent;
  return {
    ...(paymentMethodId ? { paymentMethodId } : {}),
    ...(paymentIntentId ? { paymentIntentId } : {}),
  };
}

/** Stripe.js objects reduced to what the writer reads: no client_secret, card or billing details kept. */
function idsOnly(result: StripeResult): StripeResult {
  const { paymentMethod, paymentIntent, setupIntent, ...rest } = result;
  const method = (ref: MethodRef) => (ref && typeof ref === "object" ? ref.id : ref);
  return {
    ...rest,
    ...(paymentMethod !== undefined ? { paymentMethod: idOf(paymentMethod)! } : {}),
    ...(paymentIntent !== undefined
      ? {
          paymentIntent:
            typeof paymentIntent === "string"
              ? paymentIntent
              : {
                  id: paymentIntent.id,
                  ...(paymentIntent.payment_method
                    ? { payment_method: method(paymentIntent.payment_method) }
                    : {}),
                },
        }
      : {}),
    ...(setupIntent !== undefined
      ? {
          setupIntent: {
            id: setupIntent.id,
            status: setupIntent.status,
            payment_method: method(setupIntent.payment_method)!,
          },
        }
      : {}),
  };
}

/**
 * The payment as the order keeps it, or the refusal of a Stripe.js `{ error }` result: the
 * browser's payment step failed, so there is nothing to charge or save.
 */
function checkedPayment(payment: LimioPayment | undefined): {
  payment?: LimioPayment;
  error?: OrderFieldError;
} {
  if (!payment?.stripe) return payment ? { payment } : {};
  const { result, ...stripe } = payment.stripe;
  for (const [path, r] of [
    ["payment.stripe.result.error", result],
    ["payment.stripe.error", stripe],
  ] as const) {
    const error = (r as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
    if (error) {
      const code = [error.code, error.type].find((c) => typeof c === "string") ?? "error";
      return {
        error: {
          path,
          message: `Stripe.js reported an error (${code}): the payment was not confirmed, nothing to apply`,
        },
      };
    }
  }
  return {
    payment: {
      ...payment,
      stripe: { ...idsOnly(stripe), ...(result ? { result: idsOnly(result) } : {}) },
    },
  };
}

/** `forSubscription{id}` and `subscriptionId` name the same thing; refuse an order where they disagree. */
function targetSubscription(
  o: { subscriptionId?: string | undefined; forSubscription?: { id: string } | undefined },
  required: boolean,
): { id?: string; error?: OrderFieldError } {
  const a = o.subscriptionId;
  const b = o.forSubscription?.id;
  if (a && b && a !== b) {
    return { error: { path: "forSubscription.id", message: `'${b}' disagrees with subscriptionId '${a}'` } };
  }
  const id = a ?? b;
  if (!id && required) {
    return { error: { path: "subscriptionId", message: "required: subscriptionId or forSubscription.id" } };
  }
  return id ? { id } : {};
}

/**
 * Validates and normalises a Limio order. Never throws: a malformed order yields errors naming
 * each field (`orderItems.0.offer.id`), an unsupported `order_type` a single clear refusal, and
 * a field the bridge cannot honour an `unsupported_field` refusal naming it (`orderItems.1`).
 */
export function parseLimioOrder(input: unknown, options: ParseOptions = {}): ParseLimioOrderResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return fail("invalid_order", [{ path: ROOT_PATH, message: "expected a JSON object" }]);
  }
  const orderType = (input as { order_type?: unknown }).order_type;
  if (typeof orderType !== "string" || orderType === "") {
    return fail("invalid_order", [{ path: "order_type", message: `required; supported: ${supportedList}` }]);
  }
  if (!(supportedOrderTypes as readonly string[]).includes(orderType)) {
    const known = (unsupportedOrderTypes as readonly string[]).includes(orderType);
    return fail("unsupported_order_type", [
      {
        path: "order_type",
        message: `${known ? "unsupported" : "unknown"} order_type '${orderType}'; supported: ${supportedList}`,
      },
    ]);
  }
  const type = orderType as SupportedOrderType;
  const refusals = checkOrderFields(type, input as Record<string, unknown>, {
    now: options.now ?? new Date(),
    ...(options.features ? { features: options.features } : {}),
  });
  if (refusals.length > 0) return fail("unsupported_field", refusals);
  const parsed = orderSchemasByType[type].safeParse(input);
  if (!parsed.success) {
    return fail(
      "invalid_order",
      parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  return normalise(parsed.data);
}

type ParsedAny =
  | z.infer<typeof limioNewOrderSchema>
  | z.infer<typeof limioCancelSubscriptionOrderSchema>
  | z.infer<typeof limioChangeAddressOrderSchema>
  | z.infer<typeof limioChangePaymentOrderSchema>
  | z.infer<typeof limioChangeOfferOrderSchema>;

function normalise(o: ParsedAny): ParseLimioOrderResult {
  const target = targetSubscription(o, o.order_type !== "new");
  if (target.error) return fail("invalid_order", [target.error]);
  const withSub = target.id ? { subscriptionId: target.id } : {};

  switch (o.order_type) {
    case "new": {
      // Customers are matched by email in Stripe, so a new order without one cannot be applied.
      const email = o.customerDetails?.email || o.billingDetails.email;
      if (!email) {
        return fail("invalid_order", [
          {
            path: "customerDetails.email",
            message: "required: customerDetails.email or billingDetails.email",
          },
        ]);
      }
      // A value longer than Stripe takes would fail the order after it was accepted.
      const tooLong = newOrderCustomerRefusals(o);
      if (tooLong.length > 0) return fail("invalid_order", tooLong);
      const { payment, error } = checkedPayment(o.payment);
      if (error) return fail("invalid_order", [error]);
      return {
        ok: true,
        order: { ...o, ...withSub, email, payment: payment!, stripePayment: stripePaymentRefs(payment) },
      };
    }
    case "cancel_subscription": {
      const reason = o.reason ?? o.data?.reason;
      return {
        ok: true,
        order: { ...o, subscriptionId: target.id!, ...(reason !== undefined ? { reason } : {}) },
      };
    }
    case "change_address": {
      // An order without a type that sends only details asks for their kind (deliveryDetails →
      // delivery); with `address` alone it gets the writer's configured type (rules/address.ts).
      const type = impliedAddressType(o);
      const { invalid, unsupported } = addressChangeRefusals(o, type);
      if (unsupported.length > 0) return fail("unsupported_field", unsupported);
      if (invalid.length > 0) return fail("invalid_order", invalid);
      return { ok: true, order: { ...o, subscriptionId: target.id!, ...(type ? { type } : {}) } };
    }
    case "change_payment": {
      const { payment, error } = checkedPayment(o.payment);
      if (error) return fail("invalid_order", [error]);
      return {
        ok: true,
        order: {
          ...o,
          subscriptionId: target.id!,
          ...(payment ? { payment } : {}),
          stripePayment: stripePaymentRefs(payment),
        },
      };
    }
    case "change_offer": {
      // A second item is refused by the field table (orderItems.1) before we get here.
      const items = o.orderItems ?? [];
      const offer = o.offer ?? items[0]?.offer;
      if (!offer)
        return fail("invalid_order", [{ path: "offer", message: "required: offer or orderItems.0.offer" }]);
      return { ok: true, order: { ...o, subscriptionId: target.id!, offer } };
    }
  }
}

/**
 * The parsed order as a zod schema, for message contracts: re-parsing a normalised order yields
 * the same order (normalisation is idempotent).
 */
export const limioOrderSchema = z.unknown().transform((value, ctx): LimioOrder => {
  const r = parseLimioOrder(value);
  if (r.ok) return r.order;
  for (const e of r.errors) {
    ctx.issues.push({
      code: "custom",
      message: e.message,
      path: e.path === ROOT_PATH ? [] : e.path.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
      input: value,
    });
  }
  return z.NEVER;
});
