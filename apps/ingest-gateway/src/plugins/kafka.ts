import { InvalidEnvelopeError, type MessageProducer, type OutgoingMessage } from "@bridge/messaging";
import type { FastifyInstance } from "fastify";
import { createBatchingPublisher } from "../batching-publisher.ts";
import { HttpError } from "../http-errors.ts";
import { globalPlugin } from "./global-plugin.ts";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * Publishes and resolves once Kafka acknowledged (acks=all). Any failure to get that
     * acknowledgement within the publish timeout becomes 503 + Retry-After: never a 2xx.
     */
    publish<T>(topic: string, message: OutgoingMessage<T>): Promise<void>;
  }
}

export const kafkaPlugin = globalPlugin(
  async (app: FastifyInstance, options: { producer: MessageProducer; retryAfterSeconds: number }) => {
    const publisher = createBatchingPublisher(options.producer);
    app.decorate("publish", async <T>(topic: string, message: OutgoingMessage<T>) => {
      const started = performance.now();
      const observe = (result: string) =>
        app.gatewayMetrics.publishDuration.observe({ topic, result }, (performance.now() - started) / 1000);
      try {
        await publisher.publish(topic, message);
        observe("ok");
      } catch (error) {
        observe("error");
        if (error instanceof InvalidEnvelopeError) throw error; // our bug: 500
        throw new HttpError(503, "broker_unavailable", "the message broker is unavailable; retry later", {
          headers: { "Retry-After": String(options.retryAfterSeconds) },
          cause: error,
        });
      }
    });
  },
  "kafka",
);
