import { type Envelope, messageTypes, type OrderOutcomeV1, orderOutcomeV1 } from "@bridge/domain";
import type { MessageProducer } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { type Db, sealSecret, setOrderStatus } from "@bridge/store";
import type { Registry } from "prom-client";
import type { ActionResult } from "./context.ts";
import { ordersCounter } from "./metrics.ts";

const SOURCE = "stripe-writer";

export type OrderRef = {
  orderId: string;
  subscriptionId: string;
  orderType: OrderOutcomeV1["orderType"];
};

export type OutcomeDeps = {
  db: Db;
  producer: MessageProducer;
  /** `limio.order-outcomes.v1` (with the configured prefix). */
  outcomesTopic: string;
  logger: Logger;
  registry?: Registry | undefined;
  /** Without it, a waiting order's secret is only in the outcome message, never on its row. */
  orderSecretKey?: Buffer | undefined;
  now?: () => Date;
};

/** Records an order's outcome on its Order row, publishes it, counts and logs it. */
export type FinishOrder = (
  cause: Envelope,
  order: OrderRef,
  result: ActionResult,
  outcomeId: string,
  logger: Logger,
) => Promise<void>;

/**
 * The order outcome is the one message that tells the rest of the bridge (the sync, the gateway's
 * wait, callbacks) what became of an order; its id is deterministic (`<orderId>:outcome`), so a
 * redelivered order republishes the same message and consumers dedupe it.
 */
export function createOutcomePublisher(deps: OutcomeDeps): FinishOrder {
  const now = deps.now ?? (() => new Date());
  const counter = ordersCounter(deps.registry);
  return async (cause, order, result, outcomeId, logger) => {
    const outcome: OrderOutcomeV1 = {
      ...order,
      status: result.status,
      action: result.action,
      stripe: result.stripe,
      ...(result.addressType ? { addressType: result.addressType } : {}),
      ...(result.clientSecret ? { clientSecret: result.clientSecret } : {}),
      ...(result.error ? { error: result.error } : {}),
      completedAt: now().toISOString(),
    };
    // The stored outcome never carries the client secret in plain text (DESIGN §4): a waiting
    // order keeps it sealed for the gateway's GET (decision 018); a later outcome replaces it.
    const { clientSecret, ...rest } = outcome;
    const stored =
      clientSecret && result.status === "requires_action" && deps.orderSecretKey
        ? {
            ...rest,
            sealedClientSecret: {
              type: clientSecret.type,
              ...sealSecret(deps.orderSecretKey, clientSecret.value, order.orderId),
            },
          }
        : rest;
    await setOrderStatus(deps.db, order.orderId, result.status, stored);
    await deps.producer.publish(deps.outcomesTopic, {
      key: outcome.subscriptionId,
      envelope: {
        id: outcomeId,
        type: messageTypes.orderOutcome,
        version: 1,
        occurredAt: now().toISOString(),
        source: SOURCE,
        correlationId: cause.correlationId,
        causationId: cause.id,
        data: orderOutcomeV1.parse(outcome),
      },
    });
    counter?.inc({ order_type: order.orderType, status: result.status });
    // The message's logger: the line carries the order's correlation id.
    logger.info(
      { ...order, status: result.status, action: result.action, error: result.error?.code },
      result.status === "failed"
        ? "order failed"
        : result.status === "requires_action"
          ? "order waits for the customer"
          : "order applied",
    );
  };
}
