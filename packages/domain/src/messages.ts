import { z } from "zod";
import { type Envelope, envelopeSchema } from "./envelope.ts";
import { type FieldError, fieldErrorsOf } from "./errors.ts";
import {
  limioOrderId,
  limioSubscriptionId,
  stripeCustomerId,
  stripeEventId,
  stripeInvoiceId,
  stripePaymentIntentId,
  stripeScheduleId,
  stripeSetupIntentId,
  stripeSubscriptionId,
} from "./ids.ts";
import { limioOrderSchema } from "./orders/parse-limio-order.ts";
import { addressTypes, supportedOrderTypes } from "./orders/schemas.ts";
import { relatedStripeIds } from "./stripe/event-ids.ts";
import type { StripeEventLike } from "./stripe/types.ts";

/**
 * Payload (`data`) schemas of every message type (DESIGN §3), versioned: a breaking change adds
 * version 2 next to 1 so old messages on retry/DLQ topics stay readable.
 */

export const messageTypes = {
  orderSubmitted: "limio.order.submitted",
  orderOutcome: "limio.order.outcome",
  syncRequested: "limio.sync.requested",
  stripeEventReceived: "stripe.event.received",
} as const;
export type MessageType = (typeof messageTypes)[keyof typeof messageTypes];

const isoDateTime = z.iso.datetime({ offset: true });

/** limio.orders.v1 — gateway → writer. */
export const orderSubmittedV1 = z.object({
  orderId: limioOrderId,
  subscriptionId: limioSubscriptionId,
  order: limioOrderSchema,
  receivedAt: isoDateTime,
  /** Who submitted it (the order's `source`, e.g. shop, salesforce, or `api`). */
  source: z.string().min(1),
});
export type OrderSubmittedV1 = z.output<typeof orderSubmittedV1>;

/**
 * `applied`: Stripe's state proves the order (a new subscription's first invoice paid or nothing
 * due). `requires_action`: the order waits for the customer, who must confirm a payment in the
 * browser (3-D Secure, or no payment method given) with `clientSecret`; a later outcome
 * (`<orderId>:payment:outcome`) ends it `applied` or `failed` (decision 018). `failed`: refused,
 * `error` says why. `skipped`: nothing to do (a change that came from Stripe).
 */
export const orderOutcomeStatuses = ["applied", "requires_action", "failed", "skipped"] as const;
/** Statuses after which an order never changes again. */
export const finalOrderOutcomeStatuses = ["applied", "failed", "skipped"] as const;

/** Actions the writer reports; a string so a new action does not break older consumers. */
export const knownOrderActions = [
  "subscription_created",
  "cancel_scheduled",
  "address_updated",
  "payment_setup_started",
  "payment_method_updated",
  "payment_pending",
  "upgraded",
  "downgrade_scheduled",
  "offer_swapped",
  "none",
] as const;

/** limio.order-outcomes.v1 — writer → sync and anyone listening. */
export const orderOutcomeV1 = z
  .object({
    orderId: limioOrderId,
    subscriptionId: limioSubscriptionId,
    orderType: z.enum(supportedOrderTypes),
    status: z.enum(orderOutcomeStatuses),
    action: z.string().min(1),
    stripe: z
      .object({
        customerId: stripeCustomerId.optional(),
        subscriptionId: stripeSubscriptionId.optional(),
        scheduleId: stripeScheduleId.optional(),
        invoiceId: stripeInvoiceId.optional(),
        setupIntentId: stripeSetupIntentId.optional(),
        paymentIntentId: stripePaymentIntentId.optional(),
      })
      .default({}),
    /**
     * change_address: the address type the writer applied (the order's, else the type its
     * details imply, else WRITER_DEFAULT_ADDRESS_TYPE), so the sync records the same addresses.
     */
    addressType: z.enum(addressTypes).optional(),
    /**
     * What the shop needs to finish payment in the browser (invoice confirmation secret, or a
     * PaymentIntent / SetupIntent client secret). Consumers must not log or store it.
     */
    clientSecret: z
      .object({
        type: z.enum(["invoice_confirmation_secret", "payment_intent", "setup_intent"]),
        value: z.string().min(1),
      })
      .optional(),
    error: z
      .object({
        code: z.string().min(1),
        message: z.string().min(1),
        stripeCode: z.string().optional(),
      })
      .optional(),
    completedAt: isoDateTime,
  })
  .superRefine((o, ctx) => {
    if (o.status === "failed" && !o.error)
      ctx.addIssue({ code: "custom", path: ["error"], message: "required when failed" });
    if (o.status !== "failed" && o.error) {
      ctx.addIssue({ code: "custom", path: ["error"], message: `must be absent when ${o.status}` });
    }
  });
export type OrderOutcomeV1 = z.output<typeof orderOutcomeV1>;

export const syncReasons = ["api", "order", "webhook", "operator"] as const;

/** limio.sync.v1 — gateway, writer → sync. */
export const syncRequestedV1 = z.object({
  subscriptionId: limioSubscriptionId,
  reason: z.enum(syncReasons),
  requestId: z.string().min(1),
  requestedAt: isoDateTime.optional(),
  orderId: limioOrderId.optional(),
  stripeEventId: stripeEventId.optional(),
});
export type SyncRequestedV1 = z.output<typeof syncRequestedV1>;

/** The Stripe event as received, loosely: the sync re-fetches objects instead of trusting it. */
export const rawStripeEventSchema = z
  .object({
    id: stripeEventId,
    object: z.literal("event").optional(),
    type: z.string().min(1),
    created: z.number().int(),
    livemode: z.boolean(),
    api_version: z.string().nullable().optional(),
    data: z.object({ object: z.object({ object: z.string().min(1) }).loose() }).loose(),
    request: z
      .object({ id: z.string().nullable(), idempotency_key: z.string().nullable() })
      .nullable()
      .optional(),
  })
  .loose();

/** stripe.events.v1 — gateway → sync. */
export const stripeEventReceivedV1 = z.object({
  eventId: stripeEventId,
  type: z.string().min(1),
  /** Stripe's own timestamp, unix seconds. */
  created: z.number().int(),
  livemode: z.boolean(),
  object: z.object({ id: z.string().optional(), type: z.string().min(1) }),
  related: z.object({
    subscriptionId: z.string().optional(),
    customerId: z.string().optional(),
    invoiceId: z.string().optional(),
    scheduleId: z.string().optional(),
    paymentMethodId: z.string().optional(),
    paymentIntentId: z.string().optional(),
    setupIntentId: z.string().optional(),
  }),
  event: rawStripeEventSchema,
});
export type StripeEventReceivedV1 = z.output<typeof stripeEventReceivedV1>;

/** Builds the stripe.event.received payload from a verified webhook event. */
export function stripeEventReceivedData(event: StripeEventLike): StripeEventReceivedV1 {
  const { objectId, objectType, ...related } = relatedStripeIds(event.data.object);
  return stripeEventReceivedV1.parse({
    eventId: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode,
    object: { ...(objectId ? { id: objectId } : {}), type: objectType },
    related,
    event,
  });
}

export const messageSchemas = {
  "limio.order.submitted": { 1: orderSubmittedV1 },
  "limio.order.outcome": { 1: orderOutcomeV1 },
  "limio.sync.requested": { 1: syncRequestedV1 },
  "stripe.event.received": { 1: stripeEventReceivedV1 },
} as const satisfies Record<MessageType, Record<number, z.ZodType>>;

type Schemas = typeof messageSchemas;
export type MessageVersion<T extends MessageType> = keyof Schemas[T] & number;
export type MessageData<T extends MessageType, V extends MessageVersion<T>> = Schemas[T][V] extends z.ZodType
  ? z.output<Schemas[T][V]>
  : never;

export type ParseMessageDataResult<T> =
  | { ok: true; data: T }
  | {
      ok: false;
      code: "unknown_type" | "unknown_version" | "invalid_data";
      errors: FieldError[];
    };

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(messageSchemas, type);
}

/** Validates `data` against the schema for (type, version); unknown pairs are errors, not passes. */
export function parseMessageData<T extends MessageType, V extends MessageVersion<T>>(
  type: T,
  version: V,
  data: unknown,
): ParseMessageDataResult<MessageData<T, V>>;
export function parseMessageData(
  type: string,
  version: number,
  data: unknown,
): ParseMessageDataResult<unknown>;
export function parseMessageData(
  type: string,
  version: number,
  data: unknown,
): ParseMessageDataResult<unknown> {
  if (!isMessageType(type)) {
    return {
      ok: false,
      code: "unknown_type",
      errors: [{ path: "type", message: `unknown message type '${type}'` }],
    };
  }
  const versions = messageSchemas[type] as Record<number, z.ZodType>;
  const schema = versions[version];
  if (!schema) {
    return {
      ok: false,
      code: "unknown_version",
      errors: [
        {
          path: "version",
          message: `unknown version ${version} of '${type}'; known: ${Object.keys(versions).join(", ")}`,
        },
      ],
    };
  }
  const r = schema.safeParse(data);
  if (r.success) return { ok: true, data: r.data };
  return {
    ok: false,
    code: "invalid_data",
    errors: fieldErrorsOf(r.error.issues),
  };
}

/** Validates a whole Kafka value: the envelope, then its `data` against (type, version). */
export function parseMessage(value: unknown):
  | { ok: true; envelope: Envelope<unknown> }
  | {
      ok: false;
      code: "invalid_envelope" | "unknown_type" | "unknown_version" | "invalid_data";
      errors: FieldError[];
    } {
  const env = envelopeSchema.safeParse(value);
  if (!env.success) {
    return {
      ok: false,
      code: "invalid_envelope",
      errors: fieldErrorsOf(env.error.issues),
    };
  }
  const data = parseMessageData(env.data.type, env.data.version, env.data.data);
  if (!data.ok) {
    // Field errors point into the envelope's `data`; type/version errors already name their field.
    const prefix = (p: string) => (data.code !== "invalid_data" ? p : p === "(root)" ? "data" : `data.${p}`);
    return { ...data, errors: data.errors.map((e) => ({ ...e, path: prefix(e.path) })) };
  }
  return { ok: true, envelope: { ...env.data, data: data.data } };
}
