import {
  type Envelope,
  type LimioOrder,
  messageTypes,
  type OrderOutcomeV1,
  type OrderSubmittedV1,
  parseLimioOrder,
} from "@bridge/domain";
import { findOrder, isOrderOutcomeSynced } from "@bridge/store";
import type { RouteDeps } from "../../deps.ts";
import { HttpError } from "../../http-errors.ts";
import {
  conflictingFields,
  type DerivedOrderIds,
  deriveOrderId,
  deriveOrderIds,
  idsOfOrder,
  type OrderIdentity,
  orderIdentity,
} from "../../idempotency.ts";
import { pollUntil } from "../../poll.ts";
import { finalStatuses, type OrderAnswer } from "./schemas.ts";
import type { StoredOrder, SubmissionReads } from "./submission-reads.ts";

export type { StoredOrder } from "./submission-reads.ts";

/**
 * The named steps of `POST /api/orders` (the route in submit-order.ts runs them in order):
 * parse → identify → look up what the store knows → build the message → publish → answer,
 * waiting for the outcome when the order asks to be processed immediately.
 */

type Db = RouteDeps["store"]["db"];

/** A validated order with its idempotency identity and the ids derived from it. */
export type Submission = {
  order: LimioOrder;
  source: string;
  identity: OrderIdentity;
  ids: DerivedOrderIds;
  isNew: boolean;
  /** The field that carried the order's subscription id (a new order's is minted without one). */
  subscriptionIdPath: "subscriptionId" | "forSubscription.id" | null;
};

/** The Limio subscription the order acts on (for a new order: the one it will create). */
export type Target = { subscriptionId: string; subscriptionReference: string };

/** Validates the body (field paths on failure) and derives the order's ids for this API key. */
export function parseSubmission(body: unknown, apiKeyName: string, idempotencyKey: unknown): Submission {
  const parsed = parseLimioOrder(body);
  if (!parsed.ok) {
    throw new HttpError(
      400,
      parsed.code,
      parsed.code === "unsupported_order_type" ? "unsupported order type" : "the order is invalid",
      { details: parsed.errors },
    );
  }
  const order = parsed.order;
  const source = order.source ?? "api";
  const identity = orderIdentity({
    idempotencyKey: typeof idempotencyKey === "string" && idempotencyKey !== "" ? idempotencyKey : undefined,
    source,
    externalId: order.external_id,
  });
  return {
    order,
    source,
    identity,
    ids: orderIds(order, apiKeyName, identity),
    isNew: order.order_type === "new",
    subscriptionIdPath: !order.subscriptionId
      ? null
      : typeof (body as { subscriptionId?: unknown }).subscriptionId === "string"
        ? "subscriptionId"
        : "forSubscription.id",
  };
}

/**
 * Limio's own ids when the order carries them (validated by the order schema), else the ones
 * derived from the idempotency identity (decision 021): a carried `id` is the order's identity
 * (a resubmission with it is the same order), a carried `order_reference` / `sub_reference` is
 * the reference the order and its new subscription keep everywhere.
 */
function orderIds(order: LimioOrder, apiKeyName: string, identity: OrderIdentity): DerivedOrderIds {
  const derived = order.id ? idsOfOrder(order.id) : deriveOrderIds(apiKeyName, identity);
  return {
    ...derived,
    orderReference: order.order_reference ?? derived.orderReference,
    newSubscriptionReference: order.sub_reference ?? derived.newSubscriptionReference,
  };
}

/**
 * The order and the subscription that already hold the references the order carries, and (new
 * order) the subscription that already has the id it carries, if any.
 */
export type ReferenceHolders = {
  order: string | null;
  subscription: string | null;
  subscriptionWithId: string | null;
};

/**
 * Who holds the order's carried `order_reference` and (new order) `sub_reference` and
 * subscription id: minted ones need no read.
 */
export async function findReferenceHolders(
  reads: SubmissionReads,
  { order, isNew }: Submission,
): Promise<ReferenceHolders> {
  const [holderOfOrderReference, holderOfSubReference, holderOfSubscriptionId] = await Promise.all([
    order.order_reference ? reads.orderByReference(order.order_reference) : null,
    isNew && order.sub_reference ? reads.subscriptionByReference(order.sub_reference) : null,
    isNew && order.subscriptionId ? reads.subscriptionById(order.subscriptionId) : null,
  ]);
  return {
    order: holderOfOrderReference?.id ?? null,
    subscription: holderOfSubReference?.id ?? null,
    subscriptionWithId: holderOfSubscriptionId?.id ?? null,
  };
}

/**
 * 409 `subscription_exists` when a new order carries the id of a subscription the store already
 * has, unless the stored order under this identity is the one that created it (a resubmission).
 * A new order creates its subscription: applied, it would bill a second Stripe subscription the
 * sync never links to Limio (it keeps the existing one). The writer refuses it too, for two
 * orders that reach Kafka before the store shows the first one's subscription.
 */
export function refuseExistingSubscription(
  submission: Submission,
  existing: StoredOrder | null,
  holders: ReferenceHolders,
): void {
  const id = holders.subscriptionWithId;
  if (!submission.isNew || id === null || existing?.subscriptionId === id) return;
  const path = submission.subscriptionIdPath ?? "subscriptionId";
  throw new HttpError(
    409,
    "subscription_exists",
    `${path} names an existing subscription: a new order creates a subscription of its own`,
    { details: [{ path, message: `subscription ${id} already exists` }] },
  );
}

/**
 * 409 when a reference the order carries already names another order or subscription (the
 * store keeps references unique) than this one or the one it resubmits (`existing`); 400 when a
 * non-new order's `sub_reference` is not the reference of the subscription it acts on. Nothing
 * to check for minted references.
 */
export function refuseTakenReferences(
  submission: Submission,
  target: Target,
  existing: StoredOrder | null,
  holders: ReferenceHolders,
): void {
  const { order, ids, isNew } = submission;
  const isOther = (holder: string | null, id: string, resubmitted: string | undefined) =>
    holder !== null && holder !== id && holder !== resubmitted;
  const taken = (path: string, what: string) => {
    throw new HttpError(409, "reference_taken", `${path} names another ${what}`, {
      details: [{ path, message: `already the reference of another ${what}` }],
    });
  };
  if (order.order_reference && isOther(holders.order, ids.orderId, existing?.id)) {
    taken("order_reference", "order");
  }
  if (!order.sub_reference) return;
  if (isNew) {
    if (isOther(holders.subscription, target.subscriptionId, existing?.subscriptionId)) {
      taken("sub_reference", "subscription");
    }
  } else if (order.sub_reference !== target.subscriptionReference) {
    throw new HttpError(400, "invalid_order", "the order is invalid", {
      details: [
        {
          path: "sub_reference",
          message: `'${order.sub_reference}' is not the reference of ${target.subscriptionId} (${target.subscriptionReference})`,
        },
      ],
    });
  }
}

/**
 * The order this API key already submitted under this identity, or under this source +
 * external_id without an Idempotency-Key (so adding one later does not create a second order):
 * both ids are derived from the key's name, so another client's orders are never found.
 *
 * Grouped with concurrent submissions' reads and sent through pg (submission-reads.ts, decision
 * 028). A row under the identity's own id wins over one under the external_id's.
 */
export function createExistingOrderLookup(reads: SubmissionReads) {
  return (submission: Submission, apiKeyName: string): Promise<StoredOrder | null> => {
    if (submission.identity.kind === "random" && !submission.order.id) return Promise.resolve(null);
    // Without an Idempotency-Key or a carried id, the order id already is the external_id's id.
    const idIsExternalIds = submission.identity.kind === "external_id" && !submission.order.id;
    const byExternalId =
      submission.order.external_id && !idIsExternalIds
        ? deriveOrderId(
            apiKeyName,
            orderIdentity({ source: submission.source, externalId: submission.order.external_id }),
          )
        : submission.ids.orderId;
    const byOwnId = reads.orderById(submission.ids.orderId);
    if (byExternalId === submission.ids.orderId) return byOwnId;
    const byExternal = reads.orderById(byExternalId);
    return Promise.all([byOwnId, byExternal]).then(([own, external]) => own ?? external);
  };
}

/** The subscription a non-new order acts on (404 unknown, 409 imported from Stripe); a new one's ids. */
export async function resolveTarget(reads: SubmissionReads, submission: Submission): Promise<Target> {
  const { order, ids } = submission;
  if (submission.isNew) {
    return {
      subscriptionId: order.subscriptionId ?? ids.newSubscriptionId,
      subscriptionReference: ids.newSubscriptionReference,
    };
  }
  const subscription = await reads.subscriptionById(order.subscriptionId!);
  if (!subscription) {
    throw new HttpError(404, "subscription_not_found", `no Limio subscription ${order.subscriptionId}`);
  }
  // Limio allows no commerce actions on subscriptions imported from Stripe (limio-stripe-sync.md).
  if (subscription.origin === "external") {
    throw new HttpError(
      409,
      "subscription_external",
      `${order.subscriptionId} was imported from Stripe: commerce actions are not available on it; use the Send Order API to create subscriptions Limio manages`,
    );
  }
  return { subscriptionId: subscription.id, subscriptionReference: subscription.reference };
}

/** The order as published: the gateway's ids filled in. */
export function publishedOrder({ order, ids, isNew }: Submission, target: Target): LimioOrder {
  return {
    ...order,
    id: ids.orderId,
    order_reference: ids.orderReference,
    ...(isNew ? { subscriptionId: target.subscriptionId, sub_reference: ids.newSubscriptionReference } : {}),
  };
}

/**
 * 409 when the stored order under this identity has other content; the message names the fields.
 * The fields the gateway derives from the order id are left out of the comparison: the stored
 * order may have been found under the external_id's id, not this identity's.
 */
export function refuseConflict(existing: StoredOrder, published: LimioOrder, submission: Submission): void {
  // Only the ids the gateway minted: ones the order carries are its content.
  const assigned = (["id", "order_reference", "sub_reference"] as const).filter(
    (field) => submission.order[field] === undefined,
  ) as string[];
  if (submission.isNew && submission.order.subscriptionId === undefined) assigned.push("subscriptionId");
  const fields = conflictingFields(existing.payload, published, assigned);
  if (fields.length === 0) return;
  // A carried Limio id names the order for every client (decision 021); derived ids are per API key.
  const by =
    existing.id === submission.order.id
      ? "with this Limio order id"
      : submission.identity.kind === "idempotency_key"
        ? "by this API key with this Idempotency-Key"
        : "by this API key with this source and external_id";
  throw new HttpError(
    409,
    "idempotency_conflict",
    `order ${existing.id} was already submitted ${by}, with different ${fields.join(", ")}`,
    { details: fields.map((path) => ({ path, message: "differs from the order submitted first" })) },
  );
}

/** `limio.order.submitted` v1; the order id is the message id, so every inbox dedups a resubmission. */
export function orderEnvelope(
  submission: Submission,
  target: Target,
  order: LimioOrder,
  correlationId: string,
): Envelope<OrderSubmittedV1> {
  const now = new Date().toISOString();
  return {
    id: submission.ids.orderId,
    type: messageTypes.orderSubmitted,
    version: 1,
    occurredAt: now,
    source: submission.source,
    correlationId,
    data: {
      orderId: submission.ids.orderId,
      subscriptionId: target.subscriptionId,
      order,
      receivedAt: now,
      source: submission.source,
    },
  };
}

function outcomeReason(outcome: unknown): OrderAnswer["reason"] {
  const error = (outcome as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    return { code: error.code, message: error.message };
  }
  return undefined;
}

/** What an answer reads of a stored order's payload (the order as published). */
export const publishedFields = (payload: unknown) =>
  (payload ?? {}) as { owner?: string; sub_reference?: string };

/** The three ways an answer is built: queued, from the store's row, from the outcome message. */
export function answers(submission: Submission, target: Target) {
  const { ids, order } = submission;
  const mine = {
    id: ids.orderId,
    order_reference: ids.orderReference,
    external_id: order.external_id ?? null,
    subscriptionId: target.subscriptionId,
    subscriptionReference: target.subscriptionReference,
    owner: order.owner ?? null,
  };
  return {
    queued: (): OrderAnswer => ({ ...mine, status: "queued" }),
    fromStore: (row: StoredOrder): OrderAnswer => {
      const reason = outcomeReason(row.outcome);
      const stored = publishedFields(row.payload);
      return {
        id: row.id,
        order_reference: row.reference,
        status: row.status as OrderAnswer["status"],
        external_id: row.externalId,
        subscriptionId: row.subscriptionId,
        // A row found under the external_id's id: a new order's subscription reference is the
        // one that order was published with.
        subscriptionReference:
          submission.isNew && row.id !== ids.orderId
            ? (stored.sub_reference ?? idsOfOrder(row.id).newSubscriptionReference)
            : target.subscriptionReference,
        owner: stored.owner ?? null,
        ...(reason ? { reason } : {}),
      };
    },
    fromOutcome: (outcome: OrderOutcomeV1): OrderAnswer => ({
      ...mine,
      status: outcome.status,
      ...(outcome.error ? { reason: { code: outcome.error.code, message: outcome.error.message } } : {}),
      ...(outcome.clientSecret ? { clientSecret: outcome.clientSecret } : {}),
    }),
  };
}

/**
 * Waits (until `deadline`) for the order to turn final: the outcome message from the outcome
 * consumer, or, without one, the store's Order row. Start it BEFORE publishing, so an outcome
 * that comes back quickly cannot be missed.
 */
export function waitForOutcome(
  deps: RouteDeps,
  orderId: string,
  deadline: number,
  signal: AbortSignal,
): Promise<OrderOutcomeV1 | undefined> {
  const timeoutMs = Math.max(0, deadline - Date.now());
  if (deps.outcomes) return deps.outcomes.wait(orderId, timeoutMs, signal);
  return pollUntil(
    async () => finalStatuses.includes((await findOrder(deps.store.db, orderId))?.status ?? ""),
    {
      timeoutMs,
      intervalMs: 100,
      signal,
    },
  ).then(() => undefined);
}

/** The order's row, or null when the store cannot tell (the wait's fallback must not fail the request). */
export async function storedOrder(db: Db, orderId: string): Promise<StoredOrder | null> {
  try {
    return await findOrder(db, orderId);
  } catch {
    return null;
  }
}

/**
 * For an `applied` answer: whether the Limio subscription already shows the order (the writer's
 * sync request for it was applied), waiting for that until `deadline`. Stripe's state is final
 * either way; `pending` says the Limio side lags (decision 013).
 */
export async function limioSyncOf(
  deps: RouteDeps,
  orderId: string,
  deadline: number,
): Promise<OrderAnswer["limioSync"]> {
  const synced = await pollUntil(() => isOrderOutcomeSynced(deps.store.db, orderId), {
    timeoutMs: Math.max(0, deadline - Date.now()),
    intervalMs: deps.syncPollIntervalMs,
  });
  return synced ? "synced" : "pending";
}
