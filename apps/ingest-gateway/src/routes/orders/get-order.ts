import { findOrder, findSubscription } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { orderStatuses } from "./schemas.ts";

const orderView = z
  .object({
    id: z.string(),
    order_reference: z.string(),
    order_type: z.string(),
    status: z.enum(orderStatuses).or(z.string()),
    source: z.string(),
    external_id: z.string().nullable(),
    subscriptionId: z.string(),
    subscriptionReference: z.string().nullable(),
    outcome: z
      .object({
        status: z.string().optional(),
        action: z.string().optional(),
        error: z.object({ code: z.string(), message: z.string() }).loose().optional(),
        stripe: z.record(z.string(), z.string()).optional(),
        completedAt: z.string().optional(),
      })
      .loose()
      .nullable()
      .meta({ description: "The writer's outcome once the order was applied or failed (secrets removed)" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({
    id: "Order",
    examples: [
      {
        id: "order-3f0c8a4e1b2d4c6e8f0a1b2c3d4e5f60",
        order_reference: "8HK92PM4Q7WX",
        order_type: "new",
        status: "applied",
        source: "shop",
        external_id: "EXT-ORD-12345",
        subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
        subscriptionReference: "29CVV5SJFRQ2",
        outcome: {
          status: "applied",
          action: "subscription_created",
          stripe: { customerId: "cus_Q1", subscriptionId: "sub_Q1" },
          completedAt: "2026-11-21T10:00:02.000Z",
        },
        createdAt: "2026-11-21T10:00:00.000Z",
        updatedAt: "2026-11-21T10:00:02.000Z",
      },
    ],
  });

/** Drops anything secret-looking from a stored outcome (the writer should not store it anyway). */
function publicOutcome(outcome: unknown) {
  if (!outcome || typeof outcome !== "object" || Array.isArray(outcome)) return null;
  const { clientSecret: _secret, ...rest } = outcome as Record<string, unknown>;
  return rest;
}

/** `GET /api/orders/{id}`: an order's status and outcome, from the Limio store. */
export const getOrderRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.get(
    "/api/orders/:id",
    {
      onRequest: app.requireScope("read"),
      schema: {
        tags: ["orders"],
        summary: "Read an order's status and outcome",
        description:
          "404 until the writer recorded the order (shortly after a 202); a resubmission with the same " +
          "idempotency identity reports this order.",
        security: [{ bearerAuth: [] }],
        params: z.object({ id: z.string().regex(/^order-[0-9a-f]{32}$/, "expected order-<32 hex>") }),
        response: { 200: orderView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const order = await findOrder(deps.store.db, request.params.id);
      if (!order) throw new HttpError(404, "order_not_found", `no order ${request.params.id}`);
      const subscription = await findSubscription(deps.store.db, order.subscriptionId);
      return {
        id: order.id,
        order_reference: order.reference,
        order_type: order.type,
        status: order.status,
        source: order.source,
        external_id: order.externalId,
        subscriptionId: order.subscriptionId,
        subscriptionReference: subscription?.reference ?? null,
        outcome: publicOutcome(order.outcome),
        createdAt: order.createdAt.toISOString(),
        updatedAt: order.updatedAt.toISOString(),
      };
    },
  );
};
