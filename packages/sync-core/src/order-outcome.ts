import {
  type AddressChange,
  type AddressChangeFields,
  type AddressType,
  addressTypes,
  generateLimioReference,
  type LimioAddress,
  type OrderOutcomeV1,
  resolveAddressChange,
} from "@bridge/domain";
import {
  appendEvent,
  createSubscription,
  findCustomer,
  findOffer,
  findSubscription,
  markImported,
  type Tx,
  updateCustomer,
  updateSubscription,
} from "@bridge/store";
import { type SyncResult, syncSubscriptionInTx } from "./apply-sync.ts";
import { recordSubscriptionChange } from "./change-events.ts";
import { customerForNewOrder, upsertAddress } from "./customers.ts";
import type { SyncDeps } from "./deps.ts";

/** The parts of the stored Limio order (validated by the gateway's order schema) the sync reads. */
export type StoredOrderPayload = Record<string, unknown> & {
  email?: string;
  billingDetails?: LimioAddress;
  deliveryDetails?: LimioAddress;
  customerDetails?: { firstName?: string; lastName?: string; email?: string; phone?: string };
  address?: LimioAddress;
  type?: string;
  orderItems?: { offer?: { id?: string; version?: unknown } }[];
  sub_reference?: string;
};

export type StoredOrder = { source: string; payload: unknown };

const str = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v : null);

/**
 * Apply one order outcome to the Limio store, inside the caller's transaction (which holds the
 * inbox row). The outcome is the only message that tells the sync an order was applied: a `new`
 * order that reached Stripe creates the Limio customer and subscription and links them to Stripe;
 * an order still waiting for the customer (`requires_action`, decision 018) creates nothing: its
 * later `applied` or `failed` outcome does; a schedule id is linked; an applied `change_address`
 * updates the Limio customer from the order;
 * every outcome is audited (`order.<status>`); a linked subscription is then synced.
 */
export async function applyOrderOutcomeInTx(
  tx: Tx,
  deps: SyncDeps,
  outcome: OrderOutcomeV1,
  order: StoredOrder,
  message: { id: string; correlationId: string },
): Promise<SyncResult | null> {
  const payload = (order.payload ?? {}) as StoredOrderPayload;
  const createsSubscription =
    outcome.orderType === "new" &&
    outcome.stripe.subscriptionId !== undefined &&
    (outcome.status === "applied" || outcome.status === "failed");
  if (createsSubscription) await createFromNewOrder(tx, outcome, order.source, payload, message);

  const sub = await findSubscription(tx, outcome.subscriptionId);
  if (sub && outcome.stripe.scheduleId && sub.stripeScheduleId !== outcome.stripe.scheduleId) {
    await updateSubscription(tx, sub.id, { stripeScheduleId: outcome.stripe.scheduleId });
    await recordSubscriptionChange(tx, {
      subscriptionId: sub.id,
      orderId: outcome.orderId,
      type: "subscription.stripe_link_changed",
      source: order.source,
      causeId: message.id,
      correlationId: message.correlationId,
      changes: { stripeScheduleId: { from: sub.stripeScheduleId, to: outcome.stripe.scheduleId } },
    });
  }
  if (sub && outcome.orderType === "change_address" && outcome.status === "applied") {
    await applyAddressChange(tx, sub.customerId, limioAddressChange(payload, outcome), payload, {
      orderId: outcome.orderId,
      source: order.source,
    });
  }
  await appendEvent(tx, {
    subscriptionId: sub ? sub.id : null,
    orderId: outcome.orderId,
    type: `order.${outcome.status}`,
    source: order.source,
    causeId: message.id,
    correlationId: message.correlationId,
    changes: {
      orderType: outcome.orderType,
      action: outcome.action,
      ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
    },
  });
  if (!sub?.stripeSubscriptionId) return null;
  return syncSubscriptionInTx(tx, deps, sub.id, {
    trigger: "order",
    causeId: message.id,
    correlationId: message.correlationId,
    orderId: outcome.orderId,
  });
}

async function createFromNewOrder(
  tx: Tx,
  outcome: OrderOutcomeV1,
  source: string,
  payload: StoredOrderPayload,
  message: { id: string; correlationId: string },
) {
  const existing = await findSubscription(tx, outcome.subscriptionId);
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
  const offer = offerRef ? await findOffer(tx, offerRef) : null;
  const created = await createSubscription(tx, {
    id: outcome.subscriptionId,
    // The reference the gateway answered with (the order's own sub_reference, else minted there):
    // one reference per subscription in every answer and in the store.
    reference: str(payload.sub_reference) ?? generateLimioReference(),
    customerId: customer.id,
    offerId: offer?.id ?? null,
    // The version it bought: the one the order named, else the current one (decision 022).
    offerVersion: offer ? (str(payload.orderItems?.[0]?.offer?.version) ?? offer.version) : null,
    status: "pending",
    origin: "limio",
    source,
    stripeCustomerId: outcome.stripe.customerId ?? customer.stripeCustomerId ?? null,
    stripeSubscriptionId: outcome.stripe.subscriptionId ?? null,
    stripeScheduleId: outcome.stripe.scheduleId ?? null,
  });
  if (outcome.stripe.subscriptionId) await markImported(tx, outcome.stripe.subscriptionId, created.id);
  await recordSubscriptionChange(tx, {
    subscriptionId: created.id,
    orderId: outcome.orderId,
    type: "subscription.created",
    source,
    causeId: message.id,
    correlationId: message.correlationId,
    changes: {
      customerId: { from: null, to: customer.id },
      offerId: { from: null, to: created.offerId },
      stripeSubscriptionId: { from: null, to: created.stripeSubscriptionId },
      ...(offerRef && !offer ? { offerNotInCatalog: offerRef } : {}),
    },
  });
  return created;
}

/**
 * The addresses an applied change_address changed, as the writer applied them in Stripe: the
 * same rule (resolveAddressChange) with the type the writer reports in the outcome, which knows
 * the writer's configured default. An outcome from a writer that did not report it: the order's
 * type, else the default type.
 */
export function limioAddressChange(payload: StoredOrderPayload, outcome: OrderOutcomeV1): AddressChange {
  const orderType = (addressTypes as readonly string[]).includes(payload.type ?? "")
    ? (payload.type as AddressType)
    : undefined;
  const fields: AddressChangeFields = {
    ...(payload.address ? { address: payload.address } : {}),
    ...(payload.billingDetails ? { billingDetails: payload.billingDetails } : {}),
    ...(payload.deliveryDetails ? { deliveryDetails: payload.deliveryDetails } : {}),
  };
  const type = outcome.addressType ?? orderType;
  return resolveAddressChange({ ...fields, ...(type ? { type } : {}) });
}

/** Limio's change_address: billing, delivery or both, plus name and phone (never the email). */
async function applyAddressChange(
  tx: Tx,
  customerId: string,
  change: AddressChange,
  payload: StoredOrderPayload,
  order: { orderId: string; source: string },
) {
  const rows = [
    ["billing", change.billing],
    ["delivery", change.delivery],
  ] as const;
  const types: ("billing" | "delivery")[] = [];
  for (const [type, address] of rows) {
    if (!address) continue;
    await upsertAddress(tx, customerId, type, address);
    types.push(type);
  }
  // As on the Stripe customer (customerUpdateOf): the name and phone of the billing side first,
  // the name from customerDetails when that address has none.
  const contact = (change.billing ?? change.delivery)!;
  const details = payload.customerDetails ?? {};
  const named = str(contact.firstName) !== null || str(contact.lastName) !== null;
  const before = await findCustomer(tx, customerId);
  if (!before) throw new Error(`Limio customer ${customerId} is missing`);
  await updateCustomer(tx, customerId, {
    firstName: (named ? str(contact.firstName) : str(details.firstName)) ?? before.firstName,
    lastName: (named ? str(contact.lastName) : str(details.lastName)) ?? before.lastName,
    phone: str(contact.phone) ?? before.phone,
  });
  await appendEvent(tx, {
    orderId: order.orderId,
    type: "customer.address_changed",
    source: order.source,
    changes: { addressTypes: types, customerId },
  });
}
