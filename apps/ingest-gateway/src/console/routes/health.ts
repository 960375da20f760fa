import { consumerLag } from "@bridge/messaging";
import { driftEvidence } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses } from "../../http-errors.ts";
import { CONSOLE_API, type ConsoleDeps, security } from "../deps.ts";

const groupLag = z
  .object({
    group: z.string(),
    totalLag: z.number(),
    partitions: z.array(
      z.object({
        topic: z.string(),
        partition: z.number(),
        committed: z.number(),
        end: z.number(),
        lag: z.number(),
      }),
    ),
    error: z.string().optional(),
  })
  .meta({ id: "ConsoleGroupLag" });

const auditedChange = z.object({
  at: z.string(),
  subscriptionId: z.string().nullable(),
  type: z.string(),
  source: z.string(),
  changes: z.unknown(),
});

/** Consumer lag per group, and what the store knows about drift between Limio and Stripe. */
export const healthRoutes: FastifyPluginAsyncZod<{ deps: ConsoleDeps }> = async (app, { deps }) => {
  app.get(
    `${CONSOLE_API}/lag`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "Consumer lag of the writer and the sync-consumer, per topic and partition",
        security,
        response: { 200: z.object({ groups: z.array(groupLag) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({
      groups: await Promise.all(
        Object.entries(deps.groups).map(async ([group, topics]) => {
          try {
            const partitions = await consumerLag(deps.kafka, group, topics);
            return { group, totalLag: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
          } catch (error) {
            return { group, totalLag: 0, partitions: [], error: (error as Error).message };
          }
        }),
      ),
    }),
  );

  app.get(
    `${CONSOLE_API}/drift`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "Drift evidence: changes syncs repaired, Stripe subscriptions with no Limio record",
        description:
          "Reconcile runs are not recorded (`bridge reconcile` prints its drift and writes nothing), " +
          "so this shows what the store does record: the latest field changes syncs applied (each " +
          "a difference between Limio and Stripe) and unmatched Stripe subscriptions.",
        security,
        response: {
          200: z.object({
            reconcileRecorded: z.literal(false),
            repaired: z.array(auditedChange),
            unmatchedCount: z.number(),
            unmatched: z.array(
              z.object({
                stripeSubscriptionId: z.string(),
                lastSeenAt: z.string(),
                lastEventType: z.string().nullable(),
              }),
            ),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async () => {
      const evidence = await driftEvidence(deps.store.db);
      return {
        reconcileRecorded: false as const,
        repaired: evidence.repaired.map((e) => ({
          at: e.createdAt.toISOString(),
          subscriptionId: e.subscriptionId,
          type: e.type,
          source: e.source,
          changes: e.changes,
        })),
        unmatchedCount: evidence.unmatchedCount,
        unmatched: evidence.unmatched.map((u) => ({
          stripeSubscriptionId: u.stripeSubscriptionId,
          lastSeenAt: u.lastSeenAt.toISOString(),
          lastEventType: u.lastEventType,
        })),
      };
    },
  );
};
