import {
  type Envelope,
  type LimioOrder,
  limioOrderSchema,
  messageTypes,
  type OrderOutcomeV1,
  type OrderSubmittedV1,
  orderOutcomeV1,
  parseMessageData,
  type StripeEventReceivedV1,
  type SyncRequestedV1,
  sameOrder,
} from "@bridge/domain";
import {
  type MessageHandler,
  type MessageProducer,
  PoisonMessageError,
  RetryableError,
} from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { type Db, findOrder, findSubscription, recordOrder, setOrderStatus } from "@bridge/store";
import { classifyStripeError } from "@bridge/stripe-client";
import { Counter, type Registry } from "prom-client";
import Stripe from "stripe";
import { adoptPaymentMethod } from "./actions/change-payment.ts";
import { actions } from "./actions/index.ts";
import { type ActionContext, type ActionResult, OrderFailure } from "./context.ts";
import type { CrashHook } from "./crash.ts";
import { failureOutcome } from "./failures.ts";
import type { Hooks } from "./hooks.ts";
import type { StripeLookups } from "./lookups.ts";
import { loadOrderSteps } from "./steps.ts";

export type WriterTopics = { orders: string; stripeEvents: string; sync: string; orderOutcomes: string };

export type WriterDeps = {
  db: Db;
  stripe: Stripe;
  producer: MessageProducer;
  topics: WriterTopics;
  hooks: Hooks;
  lookups: StripeLookups;
  logger: Logger;
  registry?: Registry | undefined;
  crash?: CrashHook | undefined;
  now?: () => Date;
};

export type Writer = {
  handleOrder: MessageHandler;
  handleStripeEvent: MessageHandler;
  /** Handlers by envelope type, for startConsumer. */
  handlers: Record<string, MessageHandler>;
};

const SOURCE = "stripe-writer";

function writerMetrics(registry: Registry | undefined) {
  if (!registry) return undefined;
  const existing = registry.getSingleMetric("stripe_writer_orders_total") as Counter<string> | undefined;
  const orders =
    existing ??
    new Counter({
      name: "stripe_writer_orders_total",
      help: "Orders finished by the writer, by order type and outcome status",
      labelNames: ["order_type", "status"],
      registers: [registry],
    });
  const stepsExisting = registry.getSingleMetric("stripe_writer_steps_total") as Counter<string> | undefined;
  const steps =
    stepsExisting ??
    new Counter({
      name: "stripe_writer_steps_total",
      help: "Order steps run against Stripe (replayed steps are not counted)",
      labelNames: ["step"],
      registers: [registry],
    });
  return { orders, steps };
}

/** Rethrow Stripe's retryable/fatal errors as the runtime's classes (with Retry-After). */
function rethrowClassified(error: unknown): never {
  if (error instanceof Stripe.errors.StripeError) throw classifyStripeError(error);
  throw error;
}

export function createWriter(deps: WriterDeps): Writer {
  const now = deps.now ?? (() => new Date());
  const metrics = writerMetrics(deps.registry);

  async function publishOutcome(
    envelope: Envelope,
    outcome: OrderOutcomeV1,
    ids: { outcome: string; sync: string },
  ): Promise<void> {
    const base = {
      version: 1,
      occurredAt: now().toISOString(),
      source: SOURCE,
      correlationId: envelope.correlationId,
      causationId: envelope.id,
    };
    await deps.producer.publish(deps.topics.orderOutcomes, {
      key: outcome.subscriptionId,
      envelope: {
        ...base,
        id: ids.outcome,
        type: messageTypes.orderOutcome,
        data: orderOutcomeV1.parse(outcome),
      },
    });
    const sync: SyncRequestedV1 = {
      subscriptionId: outcome.subscriptionId,
      reason: "order",
      requestId: ids.sync,
      requestedAt: now().toISOString(),
      orderId: outcome.orderId,
    };
    await deps.producer.publish(deps.topics.sync, {
      key: outcome.subscriptionId,
      envelope: { ...base, id: ids.sync, type: messageTypes.syncRequested, data: sync },
    });
  }

  async function finish(
    envelope: Envelope,
    data: { orderId: string; subscriptionId: string; orderType: OrderOutcomeV1["orderType"] },
    result: ActionResult,
    ids: { outcome: string; sync: string },
    logger: Logger,
  ) {
    const outcome: OrderOutcomeV1 = {
      orderId: data.orderId,
      subscriptionId: data.subscriptionId,
      orderType: data.orderType,
      status: result.status,
      action: result.action,
      stripe: result.stripe,
      ...(result.clientSecret ? { clientSecret: result.clientSecret } : {}),
      ...(result.error ? { error: result.error } : {}),
      completedAt: now().toISOString(),
    };
    // The stored outcome never carries the client secret (DESIGN §4: no secrets in the store).
    const { clientSecret: _secret, ...stored } = outcome;
    await setOrderStatus(deps.db, data.orderId, result.status, stored);
    await publishOutcome(envelope, outcome, ids);
    metrics?.orders.inc({ order_type: data.orderType, status: result.status });
    // The message's logger: the line carries the order's correlation id.
    logger.info(
      {
        orderId: data.orderId,
        subscriptionId: data.subscriptionId,
        orderType: data.orderType,
        status: result.status,
        action: result.action,
        error: result.error?.code,
      },
      result.status === "failed" ? "order failed" : "order applied",
    );
  }

  function contextFor(
    data: { orderId: string; subscriptionId: string; order: OrderSubmittedV1["order"]; source: string },
    steps: Awaited<ReturnType<typeof loadOrderSteps>>,
    logger: Logger,
  ): ActionContext {
    return {
      stripe: deps.stripe,
      db: deps.db,
      orderId: data.orderId,
      subscriptionId: data.subscriptionId,
      source: data.source,
      order: data.order,
      step: steps.step,
      steps,
      hooks: deps.hooks,
      lookups: deps.lookups,
      logger: logger.child({ orderId: data.orderId }),
    };
  }

  async function runAction(action: () => Promise<ActionResult>): Promise<ActionResult> {
    try {
      return await action();
    } catch (error) {
      let failed: Pick<ActionResult, "error" | "stripe">;
      try {
        failed = failureOutcome(error);
      } catch (rethrown) {
        rethrowClassified(rethrown);
      }
      return { status: "failed", action: "none", stripe: failed.stripe, error: failed.error };
    }
  }

  /**
   * A redelivered order id is the order recorded first: a resubmission with other content that
   * reached Kafka before the gateway could see the first one (decision 008) is not applied as is.
   */
  async function firstRecorded(orderId: string, order: LimioOrder, logger: Logger): Promise<LimioOrder> {
    const row = await findOrder(deps.db, orderId);
    if (!row || sameOrder(row.payload, order)) return order;
    const recorded = limioOrderSchema.safeParse(row.payload);
    if (!recorded.success) return order;
    logger.warn({ orderId }, "redelivered order id with other content: applying the order recorded first");
    return recorded.data;
  }

  const handleOrder: MessageHandler = async (envelope, context) => {
    const parsed = parseMessageData(messageTypes.orderSubmitted, 1, envelope.data);
    if (!parsed.ok) {
      throw new PoisonMessageError(
        `invalid ${messageTypes.orderSubmitted}: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      );
    }
    const data = parsed.data;
    const inserted = await recordOrder(deps.db, {
      id: data.orderId,
      reference:
        (data.order.order_reference as string | undefined) || data.orderId.slice(6, 18).toUpperCase(),
      type: data.order.order_type,
      source: data.order.source ?? data.source,
      externalId: data.order.external_id ?? null,
      subscriptionId: data.subscriptionId,
      status: "processing",
      payload: data.order,
      correlationId: envelope.correlationId,
    });
    const order = inserted ? data.order : await firstRecorded(data.orderId, data.order, context.logger);
    const orderType = order.order_type;
    const source = order.source ?? data.source;
    const ids = { outcome: `${data.orderId}:outcome`, sync: `${data.orderId}:sync` };
    const meta = { orderId: data.orderId, subscriptionId: data.subscriptionId, orderType };

    // Loop prevention: a change that came from Stripe is already in Stripe.
    if (source === "stripe") {
      await finish(envelope, meta, { status: "skipped", action: "none", stripe: {} }, ids, context.logger);
      return;
    }
    const steps = await loadOrderSteps({
      db: deps.db,
      orderId: data.orderId,
      crash: deps.crash,
      onRun: (step) => metrics?.steps.inc({ step: `${orderType}:${step.replace(/\.\d+$/, "")}` }),
    });
    const ctx = contextFor({ ...data, order, source }, steps, context.logger);
    const result = await runAction(() => actions[orderType](ctx));
    await finish(envelope, meta, result, ids, context.logger);
  };

  /**
   * `setup_intent.succeeded` for a SetupIntent the writer created for a change_payment order:
   * re-fetched (the payload is not trusted), then its method becomes the default and an open
   * invoice is paid. Other Stripe events are not the writer's business.
   */
  const handleStripeEvent: MessageHandler = async (envelope, context) => {
    const parsed = parseMessageData(messageTypes.stripeEventReceived, 1, envelope.data);
    if (!parsed.ok) return; // the sync-consumer owns this topic's poison handling
    const event: StripeEventReceivedV1 = parsed.data;
    if (event.type !== "setup_intent.succeeded") return;
    const setupIntentId = event.related.setupIntentId ?? event.object.id;
    if (!setupIntentId) return;
    let intent: Stripe.SetupIntent;
    try {
      intent = await deps.stripe.setupIntents.retrieve(setupIntentId);
    } catch (error) {
      rethrowClassified(error);
    }
    const orderId = intent.metadata?.limio_order_id;
    if (!orderId || intent.status !== "succeeded") return;
    const row = await findOrder(deps.db, orderId);
    if (row?.type !== "change_payment") {
      context.logger.warn({ setupIntentId, orderId }, "setup_intent.succeeded for an unknown order; ignored");
      return;
    }
    const paymentMethodId =
      typeof intent.payment_method === "string" ? intent.payment_method : intent.payment_method?.id;
    if (!paymentMethodId) return;
    const parsedOrder = parseMessageData(messageTypes.orderSubmitted, 1, {
      orderId,
      subscriptionId: row.subscriptionId,
      order: row.payload,
      receivedAt: row.createdAt.toISOString(),
      source: row.source,
    });
    if (!parsedOrder.ok) throw new PoisonMessageError(`stored order ${orderId} no longer parses`);
    const steps = await loadOrderSteps({ db: deps.db, orderId, crash: deps.crash });
    const ctx = contextFor({ ...parsedOrder.data, source: row.source }, steps, context.logger);
    const result = await runAction(async () => {
      const sub = await findSubscription(deps.db, row.subscriptionId);
      if (!sub?.stripeSubscriptionId || !sub.stripeCustomerId) {
        if (!sub)
          throw new OrderFailure("subscription_not_found", `no Limio subscription ${row.subscriptionId}`);
        throw new RetryableError(`Limio subscription ${row.subscriptionId} is not linked to Stripe yet`);
      }
      const adopted = await adoptPaymentMethod(
        ctx,
        {
          id: sub.id,
          offerId: sub.offerId,
          stripeCustomerId: sub.stripeCustomerId,
          stripeSubscriptionId: sub.stripeSubscriptionId,
        },
        paymentMethodId,
        // A SetupIntent with a customer attaches the method itself.
        { prefix: "setup-succeeded.", attach: false },
      );
      return { ...adopted, stripe: { ...adopted.stripe, setupIntentId } };
    });
    await finish(
      envelope,
      { orderId, subscriptionId: row.subscriptionId, orderType: "change_payment" },
      result,
      { outcome: `${orderId}:setup-succeeded:outcome`, sync: `${orderId}:setup-succeeded:sync` },
      context.logger,
    );
  };

  return {
    handleOrder,
    handleStripeEvent,
    handlers: {
      [messageTypes.orderSubmitted]: handleOrder,
      [messageTypes.stripeEventReceived]: handleStripeEvent,
    },
  };
}
