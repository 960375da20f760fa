import { messageTypes } from "@bridge/domain";
import type { MessageHandler } from "@bridge/messaging";
import type { WriterDeps } from "../context.ts";
import { createOutcomePublisher } from "../outcomes.ts";
import { orderSubmittedHandler } from "./order-submitted.ts";
import { stripeEventHandler } from "./stripe-event.ts";

/** One handler per envelope type of the writer's input topics; both finish orders the same way. */
export function writerHandlers(deps: WriterDeps): Record<string, MessageHandler> {
  const finish = createOutcomePublisher({
    db: deps.db,
    producer: deps.producer,
    outcomesTopic: deps.topics.orderOutcomes,
    logger: deps.logger,
    registry: deps.registry,
    orderSecretKey: deps.orderSecretKey,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return {
    [messageTypes.orderSubmitted]: orderSubmittedHandler(deps, finish),
    [messageTypes.stripeEventReceived]: stripeEventHandler(deps, finish),
  };
}
