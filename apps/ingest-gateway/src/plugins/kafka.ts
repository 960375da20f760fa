import {
  InvalidEnvelopeError,
  type MessageProducer,
  MessageTooLargeError,
  type OutgoingMessage,
} from "@bridge/messaging";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { createBatchingPublisher } from "../batching-publisher.ts";
import { HttpError } from "../http-errors.ts";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * Publishes and resolves once Kafka acknowledged (acks=all). A message that cannot be
     * encoded or is too large for the broker is the request's fault: 413/400, nothing published.
     * Any failure to get the acknowledgement within the publish timeout becomes 503 +
     * Retry-After: never a 2xx.
     */
    publish<T>(topic: string, message: OutgoingMessage<T>): Promise<void>;
  }
}

export const kafkaPlugin = fp(
  async (
    app: FastifyInstance,
    options: { producer: MessageProducer; retryAfterSeconds: number; maxMessageBytes: number },
  ) => {
    const publisher = createBatchingPublisher(options.producer, {
      maxBytes: options.maxMessageBytes,
      onBatch: (topic, messages) => app.gatewayMetrics.publishBatchSize.observe({ topic }, messages),
    });
    app.decorate("publish", async <T>(topic: string, message: OutgoingMessage<T>) => {
      const started = performance.now();
      const observe = (result: string) =>
        app.gatewayMetrics.publishDuration.observe({ topic, result }, (performance.now() - started) / 1000);
      try {
        await publisher.publish(topic, message);
        observe("ok");
      } catch (error) {
        observe("error");
        if (error instanceof MessageTooLargeError) {
          throw new HttpError(
            413,
            "message_too_large",
            `the message would be ${error.bytes} bytes; at most ${error.maxBytes}`,
          );
        }
        if (error instanceof InvalidEnvelopeError) {
          throw new HttpError(400, "unencodable_message", "the request cannot be encoded as a message", {
            cause: error,
          });
        }
        throw new HttpError(503, "broker_unavailable", "the message broker is unavailable; retry later", {
          headers: { "Retry-After": String(options.retryAfterSeconds) },
          cause: error,
        });
      }
    });
  },
  { name: "kafka" },
);
