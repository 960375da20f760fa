import { type LimioOrder, limioOrderSchema, messageTypes, sameOrder } from "@bridge/domain";
import { type MessageHandler, messageData } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import {
  type Db,
  findNewOrderHolders,
  findOrder,
  type NewOrderRecord,
  orderOutcomeMessageIds,
  recordOrder,
  storeErrorClass,
} from "@bridge/store";
import { actions } from "../actions/index.ts";
import { actionContext, type WriterDeps } from "../context.ts";
import { runAction, storeRefusal } from "../failures.ts";
import { stepsCounter } from "../metrics.ts";
import type { FinishOrder } from "../outcomes.ts";
import { loadOrderSteps } from "../steps.ts";

/**
 * `limio.order.submitted`: record the order, run its action against Stripe (each step once per
 * order, resumable), then finish it with exactly one outcome.
 */
export function orderSubmittedHandler(deps: WriterDeps, finish: FinishOrder): MessageHandler {
  const steps = stepsCounter(deps.registry);
  return async (envelope, context) => {
    const data = messageData(envelope, messageTypes.orderSubmitted);
    const ref = {
      orderId: data.orderId,
      subscriptionId: data.subscriptionId,
      orderType: data.order.order_type,
    };
    const outcomeId = orderOutcomeMessageIds(data.orderId).submitted;
    const record: NewOrderRecord = {
      id: data.orderId,
      reference: (data.order.order_reference as string | undefined) || mintedReference(data.orderId),
      type: data.order.order_type,
      source: data.order.source ?? data.source,
      externalId: data.order.external_id ?? null,
      subscriptionId: data.subscriptionId,
      status: "processing",
      payload: data.order,
      correlationId: envelope.correlationId,
    };
    let inserted: boolean;
    try {
      inserted = await recordOrder(deps.db, record);
    } catch (error) {
      // A value the store can never hold (a NUL, text JSON cannot carry): retrying cannot help, so
      // the order fails with the reason, recorded with that text made storable (decision 024).
      if (storeErrorClass(error) !== "permanent") throw error;
      await recordOrder(deps.db, storableRecord(record));
      const result = { status: "failed", action: "none", stripe: {}, error: storeRefusal(error) } as const;
      await finish(envelope, ref, result, outcomeId, context.logger);
      return;
    }
    const existing = inserted ? null : await findOrder(deps.db, data.orderId);
    const minted = mintedReference(data.orderId);
    if (!inserted && (!existing || (existing.reference === minted && record.reference !== minted))) {
      // Its reference is another order's: two orders carrying one `order_reference` reached Kafka
      // before the gateway could see either (its 409 covers the sequential case). Applying it would
      // bill an order no row records: it fails, recorded under a reference of its own so GET shows
      // why; a redelivery finds that row and fails the same way.
      if (!existing) await recordOrder(deps.db, { ...record, reference: minted });
      const error = {
        code: "reference_taken",
        message: `order_reference '${record.reference}' is already the reference of another order`,
      };
      await finish(
        envelope,
        ref,
        { status: "failed", action: "none", stripe: {}, error },
        outcomeId,
        context.logger,
      );
      return;
    }
    const order = inserted
      ? data.order
      : await firstRecorded(deps.db, data.orderId, data.order, context.logger);
    const orderType = order.order_type;
    const source = order.source ?? data.source;

    // Loop prevention: a change that came from Stripe is already in Stripe.
    if (source === "stripe") {
      await finish(
        envelope,
        { ...ref, orderType },
        { status: "skipped", action: "none", stripe: {} },
        outcomeId,
        context.logger,
      );
      return;
    }
    const orderSteps = await loadOrderSteps({
      db: deps.db,
      orderId: data.orderId,
      crash: deps.crash,
      onRun: (step) => steps?.inc({ step: `${orderType}:${step.replace(/\.\d+$/, "")}` }),
    });
    // Before any Stripe call; an order that already ran a step passed this check (its own
    // subscription may exist since), so a redelivery resumes instead of asking again.
    const held =
      orderType === "new" && orderSteps.replayed.size === 0
        ? await heldByAnother(deps.db, data.orderId, data.subscriptionId, order)
        : null;
    if (held) {
      await finish(
        envelope,
        { ...ref, orderType },
        { status: "failed", action: "none", stripe: {}, error: held },
        outcomeId,
        context.logger,
      );
      return;
    }
    const ctx = actionContext(deps, { ...data, order, source }, orderSteps, context.logger);
    const result = await runAction(() => actions[orderType](ctx), ctx);
    await finish(envelope, { ...ref, orderType }, result, outcomeId, context.logger);
  };
}

/**
 * Why a `new` order cannot create its subscription: its subscription id or its `sub_reference` is
 * already another's. The gateway refuses both (409) once the store shows the holder, but two
 * orders can reach Kafka before it does, or a subscription be created by the sync meanwhile.
 * Applying it would bill a second Stripe subscription the sync never links (it keeps the first
 * Limio subscription with that id, or its insert breaks the reference's uniqueness), so it fails
 * by name. This order is recorded before the check, so of two such orders checking at once at
 * least the later sees the other.
 */
async function heldByAnother(
  db: Db,
  orderId: string,
  subscriptionId: string,
  order: LimioOrder,
): Promise<{ code: string; message: string } | null> {
  const subReference = typeof order.sub_reference === "string" ? order.sub_reference : null;
  const holders = await findNewOrderHolders(db, { orderId, subscriptionId, subReference });
  const idHolder = holders.subscriptionWithId
    ? `subscription ${holders.subscriptionWithId}`
    : holders.orderWithSubscriptionId && `order ${holders.orderWithSubscriptionId}`;
  if (idHolder) {
    return {
      code: "subscription_exists",
      message: `subscriptionId '${subscriptionId}' is already held by ${idHolder}: a new order creates a subscription of its own`,
    };
  }
  const referenceHolder = holders.subscriptionWithReference
    ? `subscription ${holders.subscriptionWithReference}`
    : holders.orderWithSubReference && `order ${holders.orderWithSubReference}`;
  if (referenceHolder) {
    return {
      code: "reference_taken",
      message: `sub_reference '${subReference}' is already the reference of ${referenceHolder}`,
    };
  }
  return null;
}

/** A reference from the order id, for an order that carries none (or whose own is taken). */
const mintedReference = (orderId: string) => orderId.slice(6, 18).toUpperCase();

/**
 * A redelivered order id is the order recorded first: a resubmission with other content that
 * reached Kafka before the gateway could see the first one (decision 008) is not applied as is.
 */
async function firstRecorded(
  db: Db,
  orderId: string,
  order: LimioOrder,
  logger: Logger,
): Promise<LimioOrder> {
  const row = await findOrder(db, orderId);
  if (!row || sameOrder(row.payload, order)) return order;
  const recorded = limioOrderSchema.safeParse(row.payload);
  if (!recorded.success) return order;
  logger.warn({ orderId }, "redelivered order id with other content: applying the order recorded first");
  return recorded.data;
}

/** Text Postgres can hold: NUL and lone surrogates become U+FFFD, everywhere in the record. */
function storableRecord(record: NewOrderRecord): NewOrderRecord {
  const clean = (value: unknown): unknown => {
    if (typeof value === "string") return value.replaceAll("\u0000", "\ufffd").toWellFormed();
    if (Array.isArray(value)) return value.map(clean);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), clean(v)]));
    return value;
  };
  return clean(record) as NewOrderRecord;
}
