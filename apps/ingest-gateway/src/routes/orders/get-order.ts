import { findOrder, findSubscription, openSecret, type SealedSecret, secretKeyFrom } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { orderStatuses, statusMappingDescription } from "./schemas.ts";
import { publishedFields } from "./submission.ts";

const orderView = z
  .object({
    id: z.string(),
    order_reference: z.string(),
    order_type: z.string(),
    status: z.enum(orderStatuses).or(z.string()).meta({ description: statusMappingDescription }),
    source: z.string(),
    external_id: z.string().nullable(),
    subscriptionId: z.string(),
    subscriptionReference: z.string().nullable().meta({
      description:
        "The subscription's reference, the same as in the POST answer (a new order's before its subscription exists)",
    }),
    owner: z.string().nullable().meta({ description: "The order's `owner` (Limio identity) as it was sent" }),
    clientSecret: z
      .object({ type: z.string(), value: z.string() })
      .optional()
      .meta({
        description:
          "While the order is `requires_action`: what the shop confirms the payment with in the browser " +
          "(the invoice's confirmation secret). Absent otherwise.",
      }),
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
        owner: "id-62401f8d5bf6b26a37ea0defd66fd005",
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

/** Drops anything secret from a stored outcome (the plain secret is never stored; the sealed one is not shown). */
function publicOutcome(outcome: unknown) {
  if (!outcome || typeof outcome !== "object" || Array.isArray(outcome)) return null;
  const { clientSecret: _secret, sealedClientSecret: _sealed, ...rest } = outcome as Record<string, unknown>;
  return rest;
}

/**
 * The confirmation secret of an order waiting for the customer, opened with ORDER_SECRET_KEY
 * (decision 018); undefined for any other status, or without the key. Never logged.
 */
function waitingSecret(
  key: Buffer | undefined,
  order: { id: string; status: string; outcome: unknown },
): { type: string; value: string } | undefined {
  if (!key || order.status !== "requires_action") return undefined;
  const sealed = (order.outcome as { sealedClientSecret?: SealedSecret & { type: string } } | null)
    ?.sealedClientSecret;
  if (!sealed) return undefined;
  const value = openSecret(key, sealed, order.id);
  return value === null ? undefined : { type: sealed.type, value };
}

/** `GET /api/order/{id}` (alias `/api/orders/{id}`): an order's status and outcome, from the Limio store. */
export const getOrderRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  const secretKey = deps.config.ORDER_SECRET_KEY ? secretKeyFrom(deps.config.ORDER_SECRET_KEY) : undefined;
  app.get(
    "/api/order/:id",
    {
      onRequest: app.requireScope("read"),
      schema: {
        tags: ["orders"],
        summary: "Read an order's status and outcome",
        description:
          "`GET /api/orders/{id}` is the same route (an alias). `status` as in the POST answer. 404 until the writer recorded the order (shortly after a 202); a resubmission with the same " +
          "idempotency identity reports this order.",
        security: [{ bearerAuth: [] }],
        params: z.object({ id: z.string().regex(/^order-[0-9a-f]{32}$/, "expected order-<32 hex>") }),
        response: { 200: orderView, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const order = await findOrder(deps.store.db, request.params.id);
      if (!order) throw new HttpError(404, "order_not_found", `no order ${request.params.id}`);
      const subscription = await findSubscription(deps.store.db, order.subscriptionId);
      const clientSecret = waitingSecret(secretKey, order);
      const published = publishedFields(order.payload);
      return {
        id: order.id,
        order_reference: order.reference,
        order_type: order.type,
        status: order.status,
        source: order.source,
        external_id: order.externalId,
        subscriptionId: order.subscriptionId,
        subscriptionReference:
          subscription?.reference ?? (order.type === "new" ? (published.sub_reference ?? null) : null),
        owner: published.owner ?? null,
        ...(clientSecret ? { clientSecret } : {}),
        outcome: publicOutcome(order.outcome),
        createdAt: order.createdAt.toISOString(),
        updatedAt: order.updatedAt.toISOString(),
      };
    },
  );
};
