import { findSubscription, isSyncHandled } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { pollUntil } from "../../poll.ts";
import { publishSyncRequest } from "../../sync-request.ts";

const syncAnswer = z
  .object({
    success: z.literal(true),
    id: z.string().meta({ description: "The Limio subscription id" }),
    status: z
      .literal("queued")
      .optional()
      .meta({ description: "Present when the sync did not finish in time" }),
  })
  .meta({ id: "SyncAnswer", examples: [{ success: true, id: "sub-5c3d83c60950014c306865f0ab8c499b" }] });

/** `POST /api/plugins/stripe/sync/subscription/{id}`: Limio's Stripe Subscription Sync API. */
export const syncSubscriptionRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.post(
    "/api/plugins/stripe/sync/subscription/:id",
    {
      onRequest: app.requireScope("sync"),
      // Each call costs Stripe reads: bounded per API key.
      config: { rateLimit: { max: deps.config.RATE_LIMIT_SYNC_PER_MINUTE, timeWindow: 60_000 } },
      schema: {
        tags: ["sync"],
        summary: "Sync a Limio subscription from Stripe",
        description:
          "Publishes `limio.sync.requested` v1 (reason `api`) to `limio.sync.v1` and waits (bounded by " +
          "WAIT_TIMEOUT_MS) until the sync-consumer applied it: 200 when done, 202 with `status: queued` " +
          "when it is still pending. Status, term dates, payment schedules and payment method are " +
          "synced; addresses and names are not.",
        security: [{ bearerAuth: [] }],
        params: z.object({
          id: z
            .string()
            .regex(/^sub-[0-9a-f]{32}$/, "expected a Limio subscription id sub-<32 hex>")
            .meta({ example: "sub-5c3d83c60950014c306865f0ab8c499b" }),
        }),
        response: {
          200: syncAnswer.describe("The sync was applied"),
          202: syncAnswer.describe("Kafka acknowledged the request; the sync is still queued"),
          ...errorResponses(400, 401, 403, 404, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const subscription = await findSubscription(deps.store.db, id);
      if (!subscription) throw new HttpError(404, "subscription_not_found", `no Limio subscription ${id}`);

      const messageId = await publishSyncRequest(app, deps.topics.sync, {
        subscriptionId: id,
        reason: "api",
        correlationId: request.id,
      });
      request.log.info({ subscriptionId: id, messageId }, "sync request accepted");

      const done = await pollUntil(() => isSyncHandled(deps.store.db, messageId), {
        timeoutMs: deps.config.WAIT_TIMEOUT_MS,
        intervalMs: deps.syncPollIntervalMs,
      });
      if (done) return reply.code(200).send({ success: true as const, id });
      return reply.code(202).send({ success: true as const, id, status: "queued" as const });
    },
  );
};
