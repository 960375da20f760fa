import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";

const openapiInfo = {
  title: "Limio ⇄ Stripe bridge: ingest-gateway",
  version: "1.0.0",
  description:
    "Limio's Send Order API, the Stripe Subscription Sync API and the signed Stripe webhook. " +
    "Every 2xx means Kafka acknowledged the message (acks=all); when Kafka is unavailable the " +
    "answer is 503 with Retry-After. Every 4xx/5xx has the shape " +
    '`{ "error": { "code", "message", "details"?: [{ "path", "message" }] } }`.',
  license: { name: "MIT", identifier: "MIT" },
};

/** The OpenAPI 3.1 document generated from the routes' zod schemas, served at /openapi.json and /docs. */
export const swaggerPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: "3.1.0",
        info: openapiInfo,
        servers: [{ url: "/", description: "this gateway" }],
        tags: [
          { name: "orders", description: "Limio Send Order API" },
          { name: "sync", description: "Stripe Subscription Sync API" },
          { name: "webhooks", description: "Signed Stripe webhooks" },
          { name: "subscriptions", description: "Read the Limio store" },
          { name: "operations", description: "Health, readiness, metrics" },
        ],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: "http",
              scheme: "bearer",
              description: "An API key from API_KEYS, with the scope the operation names",
            },
          },
        },
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(fastifySwaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } });
    app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  },
  { name: "swagger" },
);
