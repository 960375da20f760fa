import { findOrderWithTimeline, listOrdersFiltered } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { CONSOLE_API, type ConsoleDeps, security } from "../deps.ts";
import { orderSummary, orderTimeline } from "../views.ts";

const orderRow = z
  .object({
    id: z.string(),
    reference: z.string(),
    type: z.string(),
    source: z.string(),
    status: z.string(),
    subscriptionId: z.string(),
    externalId: z.string().nullable(),
    action: z.string().nullable(),
    error: z
      .object({ code: z.string(), message: z.string() })
      .loose()
      .nullable()
      .meta({ description: "Why the order failed (the writer's outcome)" }),
    stripe: z.record(z.string(), z.string()).meta({ description: "Stripe ids the outcome names" }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "ConsoleOrder" });

const timelineEntry = z
  .object({
    at: z.string(),
    stage: z.enum(["request", "stripe", "limio"]),
    title: z.string(),
    detail: z.unknown(),
  })
  .meta({ id: "ConsoleTimelineEntry" });

/** Orders filtered by status, type and source; one order's timeline from request to Stripe to Limio. */
export const orderRoutes: FastifyPluginAsyncZod<{ deps: ConsoleDeps }> = async (app, { deps }) => {
  app.get(
    `${CONSOLE_API}/orders`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "List orders, newest first",
        security,
        querystring: z.object({
          status: z.string().max(40).optional().meta({ example: "failed" }),
          type: z.string().max(40).optional().meta({ example: "new" }),
          source: z.string().max(200).optional().meta({ example: "shop" }),
          before: z.iso.datetime().optional().meta({ description: "Next page: the last createdAt seen" }),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ orders: z.array(orderRow) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { before, ...filter } = request.query;
      const rows = await listOrdersFiltered(deps.store.db, {
        ...filter,
        ...(before ? { before: new Date(before) } : {}),
      });
      return { orders: rows.map(orderSummary) };
    },
  );

  app.get(
    `${CONSOLE_API}/orders/:id`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "One order with its timeline: request, Stripe steps and outcome, Limio events",
        security,
        params: z.object({ id: z.string().max(100) }),
        response: {
          200: z.object({ order: orderRow, timeline: z.array(timelineEntry) }),
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      const found = await findOrderWithTimeline(deps.store.db, request.params.id);
      if (!found) throw new HttpError(404, "order_not_found", `no order ${request.params.id}`);
      return {
        order: orderSummary(found.order),
        timeline: orderTimeline(found.order, found.steps, found.events),
      };
    },
  );
};
