import {
  type Envelope,
  generateLimioReference,
  type LimioAddress,
  messageTypes,
  type OrderOutcomeV1,
} from "@bridge/domain";
import { type MessageContext, type MessageHandler, RetryableError } from "@bridge/messaging";
import { appendEvent, findOrder, handleOnce, markImported, type Prisma } from "@bridge/store";
import { customerForNewOrder, upsertAddress } from "../customers.ts";
import { CONSUMER, type SyncDeps, syncStore } from "../deps.ts";
import { syncSubscriptionInTx } from "../sync/apply-sync.ts";
import { dataOf } from "./parse.ts";

type Tx = Prisma.TransactionClient;
type Payload = Record<string, unknown> & {
  email?: string;
  billingDetails?: LimioAddress;
  deliveryDetails?: LimioAddress;
  customerDetails?: { firstName?: string; lastName?: string; email?: string; phone?: string };
  address?: LimioAddress;
  type?: string;
  orderItems?: { offer?: { id?: string } }[];
};

const str = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v : null);

/**
 * `limio.order.outcome` (from the stripe-writer). A `new` order that reached Stripe creates the
 * Limio customer and subscription and links them to Stripe; every outcome is audited
 * (`order.<status>`) and the subscription is synced inline, in the same transaction as the inbox
 * row. An applied `change_address` updates the Limio customer from the order (Limio's own data).
 */
export function orderOutcomeHandler(deps: SyncDeps): MessageHandler {
  const store = syncStore(deps.store);
  return async (envelope: Envelope, context: MessageContext) => {
    const outcome = dataOf(envelope, messageTypes.orderOutcome);
    const order = await findOrder(deps.store.db, outcome.orderId);
    if (!order) throw new RetryableError(`order ${outcome.orderId} is not recorded (yet)`);
    const payload = (order.payload ?? {}) as Payload;

    const r = await handleOnce(store, CONSUMER, envelope.id, async (tx) => {
      const createsSubscription =
        outcome.orderType === "new" &&
        outcome.stripe.subscriptionId !== undefined &&
        (outcome.status === "applied" || outcome.status === "failed");
      if (createsSubscription) await createFromNewOrder(tx, outcome, order.source, payload);

      const sub = await tx.subscription.findUnique({ where: { id: outcome.subscriptionId } });
      if (sub && outcome.stripe.scheduleId && sub.stripeScheduleId !== outcome.stripe.scheduleId) {
        await tx.subscription.update({
          where: { id: sub.id },
          data: { stripeScheduleId: outcome.stripe.scheduleId },
        });
      }
      if (sub && outcome.orderType === "change_address" && outcome.status === "applied") {
        await applyAddressChange(tx, sub.customerId, payload, outcome.orderId, order.source);
      }
      await appendEvent(tx, {
        subscriptionId: sub ? sub.id : null,
        orderId: outcome.orderId,
        type: `order.${outcome.status}`,
        source: order.source,
        causeId: envelope.id,
        correlationId: envelope.correlationId,
        changes: {
          orderType: outcome.orderType,
          action: outcome.action,
          ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
        },
      });
      if (!sub?.stripeSubscriptionId) return null;
      return syncSubscriptionInTx(tx, deps, sub.id, {
        trigger: "order",
        causeId: envelope.id,
        correlationId: envelope.correlationId,
        orderId: outcome.orderId,
      });
    });
    if (r.duplicate) return;
    if (r.result?.kind === "applied") {
      deps.metrics.applied.inc({ trigger: "order" });
      for (const e of r.result.events) deps.metrics.changes.inc({ kind: e });
    }
    // The message's logger (messageId, correlationId bound): the order's correlation id.
    context.logger.info(
      {
        orderId: outcome.orderId,
        subscriptionId: outcome.subscriptionId,
        status: outcome.status,
        orderType: outcome.orderType,
        result: r.result,
      },
      "sync applied",
    );
  };
}

async function createFromNewOrder(tx: Tx, outcome: OrderOutcomeV1, source: string, payload: Payload) {
  const existing = await tx.subscription.findUnique({ where: { id: outcome.subscriptionId } });
  if (existing) return existing;
  const billing = payload.billingDetails ?? {};
  const details = payload.customerDetails ?? {};
  const email = str(payload.email) ?? str(details.email) ?? str(billing.email);
  if (!email) throw new Error(`order ${outcome.orderId} has no email`);
  const customer = await customerForNewOrder(tx, {
    orderId: outcome.orderId,
    email,
    stripeCustomerId: outcome.stripe.customerId,
    firstName: str(details.firstName) ?? str(billing.firstName),
    lastName: str(details.lastName) ?? str(billing.lastName),
    phone: str(details.phone) ?? str(billing.phone),
  });
  if (payload.billingDetails) await upsertAddress(tx, customer.id, "billing", payload.billingDetails);
  if (payload.deliveryDetails) await upsertAddress(tx, customer.id, "delivery", payload.deliveryDetails);

  const offerRef = payload.orderItems?.[0]?.offer?.id;
  const offer = offerRef ? await tx.offer.findUnique({ where: { id: offerRef } }) : null;
  const created = await tx.subscription.create({
    data: {
      id: outcome.subscriptionId,
      reference: generateLimioReference(),
      customerId: customer.id,
      offerId: offer?.id ?? null,
      status: "pending",
      origin: "limio",
      source,
      stripeCustomerId: outcome.stripe.customerId ?? customer.stripeCustomerId ?? null,
      stripeSubscriptionId: outcome.stripe.subscriptionId ?? null,
      stripeScheduleId: outcome.stripe.scheduleId ?? null,
    },
  });
  if (outcome.stripe.subscriptionId) await markImported(tx, outcome.stripe.subscriptionId, created.id);
  await appendEvent(tx, {
    subscriptionId: created.id,
    orderId: outcome.orderId,
    type: "subscription.created",
    source,
    changes: {
      customerId: { from: null, to: customer.id },
      offerId: { from: null, to: created.offerId },
      stripeSubscriptionId: { from: null, to: created.stripeSubscriptionId },
      ...(offerRef && !offer ? { offerNotInCatalog: offerRef } : {}),
    },
  });
  return created;
}

/** Limio's change_address: billing, delivery or both, plus name and phone (never the email). */
async function applyAddressChange(
  tx: Tx,
  customerId: string,
  payload: Payload,
  orderId: string,
  source: string,
) {
  const address =
    payload.address ?? (payload.type === "delivery" ? payload.deliveryDetails : payload.billingDetails);
  if (!address) return;
  const types: ("billing" | "delivery")[] =
    payload.type === "all"
      ? ["billing", "delivery"]
      : payload.type === "delivery"
        ? ["delivery"]
        : ["billing"];
  for (const type of types) await upsertAddress(tx, customerId, type, address);
  const details = payload.customerDetails ?? {};
  const before = await tx.customer.findUniqueOrThrow({ where: { id: customerId } });
  const next = {
    firstName: str(details.firstName) ?? str(address.firstName) ?? before.firstName,
    lastName: str(details.lastName) ?? str(address.lastName) ?? before.lastName,
    phone: str(details.phone) ?? str(address.phone) ?? before.phone,
  };
  await tx.customer.update({ where: { id: customerId }, data: next });
  await appendEvent(tx, {
    orderId,
    type: "customer.address_changed",
    source,
    changes: { addressTypes: types, customerId },
  });
}
