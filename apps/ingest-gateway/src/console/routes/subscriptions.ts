import { appendEvent, findSubscriptionForConsole } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { publishSyncRequest } from "../../sync-request.ts";
import { CONSOLE_API, type ConsoleDeps, security } from "../deps.ts";
import { compareWithStripe } from "../views.ts";

const iso = (date: Date | null) => date?.toISOString() ?? null;
const subscriptionId = z
  .string()
  .regex(/^sub-[0-9a-f]{32}$/, "expected a Limio subscription id sub-<32 hex>")
  .meta({ example: "sub-5c3d83c60950014c306865f0ab8c499b" });

const subscriptionView = z
  .object({
    limio: z.record(z.string(), z.unknown()).meta({ description: "The Limio subscription record" }),
    stripe: z.object({
      lastSyncedAt: z.string().nullable(),
      raw: z.unknown().meta({ description: "Stripe's subscription JSON as the last sync read it" }),
    }),
    comparison: z.array(
      z.object({ field: z.string(), limio: z.unknown(), stripe: z.unknown(), agrees: z.boolean() }),
    ),
    events: z.array(
      z.object({
        at: z.string(),
        type: z.string(),
        source: z.string(),
        causeId: z.string().nullable(),
        changes: z.unknown(),
      }),
    ),
  })
  .meta({ id: "ConsoleSubscription" });

/** A subscription's Limio view beside Stripe's last-synced state, and the resync action. */
export const subscriptionRoutes: FastifyPluginAsyncZod<{ deps: ConsoleDeps }> = async (app, { deps }) => {
  app.get(
    `${CONSOLE_API}/subscriptions/:id`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "A Limio subscription beside Stripe's last-synced state",
        security,
        params: z.object({ id: subscriptionId }),
        response: { 200: subscriptionView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const found = await findSubscriptionForConsole(deps.store.db, request.params.id);
      if (!found)
        throw new HttpError(404, "subscription_not_found", `no Limio subscription ${request.params.id}`);
      // The Limio record as stored (dates as ISO strings), without the Stripe JSON shown beside it.
      const { stripeRaw, ...limio } = found.subscription;
      return {
        limio: JSON.parse(JSON.stringify(limio)) as Record<string, unknown>,
        stripe: { lastSyncedAt: iso(limio.lastSyncedAt), raw: stripeRaw ?? null },
        comparison: compareWithStripe(found.subscription),
        events: found.events.map((e) => ({
          at: e.createdAt.toISOString(),
          type: e.type,
          source: e.source,
          causeId: e.causeId,
          changes: e.changes,
        })),
      };
    },
  );

  app.post(
    `${CONSOLE_API}/subscriptions/:id/resync`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "Re-sync a Limio subscription from Stripe (audited)",
        description:
          "Publishes `limio.sync.requested` (reason `operator`) to `limio.sync.v1`, the same message " +
          "the Sync API publishes, and records `console.resync_requested` with the operator's key " +
          "name in the event log. Answers once Kafka acknowledged; the sync itself follows.",
        security,
        params: z.object({ id: subscriptionId }),
        response: {
          202: z.object({ messageId: z.string(), status: z.literal("queued") }),
          ...errorResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const found = await deps.store.db.subscription.findUnique({ where: { id }, select: { id: true } });
      if (!found) throw new HttpError(404, "subscription_not_found", `no Limio subscription ${id}`);
      const messageId = await publishSyncRequest(app, deps.topics.sync, {
        subscriptionId: id,
        reason: "operator",
        correlationId: request.id,
      });
      await appendEvent(deps.store.db, {
        subscriptionId: id,
        type: "console.resync_requested",
        source: "operator",
        causeId: messageId,
        correlationId: request.id,
        changes: { operator: request.apiKeyName },
      });
      request.log.info({ subscriptionId: id, messageId, operator: request.apiKeyName }, "console resync");
      return reply.code(202).send({ messageId, status: "queued" as const });
    },
  );
};
