import {
  type Envelope,
  type LimioOrder,
  messageTypes,
  type OrderOutcomeV1,
  type OrderSubmittedV1,
  parseLimioOrder,
} from "@bridge/domain";
import { findOrder, findSubscription } from "@bridge/store";
import { type FastifyPluginAsyncZod, validatorCompiler } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { deriveOrderIds, orderIdentity, orderPayloadHash } from "../../idempotency.ts";
import { pollUntil } from "../../poll.ts";
import { finalStatuses, type OrderAnswer, orderAnswerSchema, submitOrderBody } from "./schemas.ts";

type StoredOrder = {
  id: string;
  reference: string;
  status: string;
  externalId: string | null;
  subscriptionId: string;
  payload: unknown;
  outcome: unknown;
};

/**
 * The order recorded under the derived id, or earlier under this source + external_id: one raw
 * round trip on the hot path (cheaper than the query compiler, this runs for every submission).
 */
async function findExistingOrder(
  db: RouteDeps["store"]["db"],
  id: string,
  source: string,
  externalId: string | undefined,
): Promise<StoredOrder | null> {
  const rows = await db.$queryRaw<StoredOrder[]>`
    SELECT "id", "reference", "status", "externalId", "subscriptionId", "payload", "outcome"
    FROM "Order"
    WHERE "id" = ${id} OR ("source" = ${source} AND "externalId" = ${externalId ?? null})
    ORDER BY ("id" = ${id}) DESC, "createdAt" ASC
    LIMIT 1`;
  return rows[0] ?? null;
}

const headers = z
  .object({
    "idempotency-key": z
      .string()
      .min(1)
      .max(255)
      .optional()
      .meta({
        description:
          "Makes the submission idempotent: the same key (per API key) always yields the same order id " +
          "and answer. Without it, `source` + `external_id` play that role.",
      }),
    "x-correlation-id": z.string().optional().meta({ description: "Carried on every resulting message" }),
  })
  .loose();

function outcomeReason(outcome: unknown): OrderAnswer["reason"] {
  const error = (outcome as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    return { code: error.code, message: error.message };
  }
  return undefined;
}

/** `POST /api/orders`: Limio's Send Order API. Validates, publishes durably, optionally waits. */
export const submitOrderRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  const db = deps.store.db;
  const waitMs = deps.config.WAIT_TIMEOUT_MS;

  /** The order's final state when the wait ends without an outcome message: what the store says. */
  async function storedStatus(orderId: string): Promise<StoredOrder | null> {
    try {
      return await findOrder(db, orderId);
    } catch {
      return null;
    }
  }

  app.post(
    "/api/orders",
    {
      onRequest: app.requireScope("orders"),
      // The body schema documents the order; parseLimioOrder validates it (once) with field paths.
      validatorCompiler: ({ schema, method, url, httpPart }) =>
        httpPart === "body"
          ? (data: unknown) => ({ value: data })
          : validatorCompiler({ schema: schema as never, method, url, httpPart }),
      schema: {
        tags: ["orders"],
        summary: "Submit a Limio order (Send Order API)",
        description:
          "Validates the order, assigns its id and publishes `limio.order.submitted` v1 to `limio.orders.v1` " +
          "keyed by the Limio subscription id. 2xx only once Kafka acknowledged. Idempotent on the " +
          "`Idempotency-Key` header, else on `source` + `external_id`: a resubmission gets the same ids " +
          "and answer; the same identity with a different payload is 409.",
        security: [{ bearerAuth: [] }],
        headers,
        body: submitOrderBody,
        response: {
          200: orderAnswerSchema.describe("process_immediately: the order's final state"),
          202: orderAnswerSchema.describe("Queued: Kafka acknowledged the order (or the wait timed out)"),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const parsed = parseLimioOrder(request.body);
      if (!parsed.ok) {
        throw new HttpError(
          400,
          parsed.code,
          parsed.code === "unsupported_order_type" ? "unsupported order type" : "the order is invalid",
          { details: parsed.errors },
        );
      }
      const order = parsed.order;
      const source = order.source ?? "api";
      const idempotencyKey = request.headers["idempotency-key"];
      const identity = orderIdentity({
        idempotencyKey:
          typeof idempotencyKey === "string" && idempotencyKey !== "" ? idempotencyKey : undefined,
        source,
        externalId: order.external_id,
      });
      const ids = deriveOrderIds(request.apiKeyName, identity);
      const isNew = order.order_type === "new";

      const [existing, subscription] = await Promise.all([
        identity.kind === "random" ? null : findExistingOrder(db, ids.orderId, source, order.external_id),
        isNew ? null : findSubscription(db, order.subscriptionId!),
      ]);
      if (!isNew && !subscription) {
        throw new HttpError(404, "subscription_not_found", `no Limio subscription ${order.subscriptionId}`);
      }
      // Limio allows no commerce actions on subscriptions imported from Stripe (limio-stripe-sync.md).
      if (subscription?.origin === "external") {
        throw new HttpError(
          409,
          "subscription_external",
          `${order.subscriptionId} was imported from Stripe: commerce actions are not available on it; use the Send Order API to create subscriptions Limio manages`,
        );
      }
      const subscriptionId = isNew ? (order.subscriptionId ?? ids.newSubscriptionId) : order.subscriptionId!;
      const subscriptionReference = subscription?.reference ?? ids.newSubscriptionReference;

      const published: LimioOrder = {
        ...order,
        id: ids.orderId,
        order_reference: ids.orderReference,
        ...(isNew ? { subscriptionId, sub_reference: ids.newSubscriptionReference } : {}),
      };

      const answer = (status: OrderAnswer["status"], extra: Partial<OrderAnswer> = {}): OrderAnswer => ({
        id: ids.orderId,
        order_reference: ids.orderReference,
        status,
        external_id: order.external_id ?? null,
        subscriptionId,
        subscriptionReference,
        ...extra,
      });
      const fromStore = (row: StoredOrder): OrderAnswer => {
        const reason = outcomeReason(row.outcome);
        return {
          id: row.id,
          order_reference: row.reference,
          status: row.status as OrderAnswer["status"],
          external_id: row.externalId,
          subscriptionId: row.subscriptionId,
          subscriptionReference:
            row.id === ids.orderId ? subscriptionReference : (subscription?.reference ?? ""),
          ...(reason ? { reason } : {}),
        };
      };
      const fromOutcome = (outcome: OrderOutcomeV1): OrderAnswer =>
        answer(outcome.status, {
          ...(outcome.error ? { reason: { code: outcome.error.code, message: outcome.error.message } } : {}),
          ...(outcome.clientSecret ? { clientSecret: outcome.clientSecret } : {}),
        });

      /**
       * The outcome message (from the outcome consumer), or, without one, the store's Order row
       * turning final; both bounded by WAIT_TIMEOUT_MS. Registered before publishing.
       */
      const startWait = (signal: AbortSignal): Promise<OrderOutcomeV1 | undefined> =>
        deps.outcomes
          ? deps.outcomes.wait(ids.orderId, waitMs, signal)
          : pollUntil(async () => finalStatuses.includes((await findOrder(db, ids.orderId))?.status ?? ""), {
              timeoutMs: waitMs,
              intervalMs: 100,
              signal,
            }).then(() => undefined);

      /** Answers with the outcome if one came; else with what the store knows; else `fallback` (202). */
      const finish = async (wait: Promise<OrderOutcomeV1 | undefined> | undefined, fallback: OrderAnswer) => {
        if (!wait) return reply.code(202).send(fallback);
        const outcome = await wait;
        if (outcome) return reply.code(200).send(fromOutcome(outcome));
        const row = await storedStatus(ids.orderId);
        if (row && finalStatuses.includes(row.status)) return reply.code(200).send(fromStore(row));
        return reply.code(202).send(row ? fromStore(row) : fallback);
      };

      const waitWanted = order.process_immediately === true && waitMs > 0;
      if (existing) {
        if (orderPayloadHash(existing.payload) !== orderPayloadHash(published)) {
          throw new HttpError(
            409,
            "idempotency_conflict",
            `order ${existing.id} was already submitted with this ${identity.kind === "idempotency_key" ? "Idempotency-Key" : "source and external_id"} and a different payload`,
          );
        }
        if (finalStatuses.includes(existing.status)) return reply.code(200).send(fromStore(existing));
        if (!waitWanted || existing.id !== ids.orderId) return reply.code(202).send(fromStore(existing));
        return finish(startWait(new AbortController().signal), fromStore(existing));
      }

      const envelope: Envelope<OrderSubmittedV1> = {
        // The order id is the message id: a resubmission publishes the same message again and
        // every consumer's inbox dedups it.
        id: ids.orderId,
        type: messageTypes.orderSubmitted,
        version: 1,
        occurredAt: new Date().toISOString(),
        source,
        correlationId: request.correlationId,
        data: {
          orderId: ids.orderId,
          subscriptionId,
          order: published,
          receivedAt: new Date().toISOString(),
          source,
        },
      };

      // Wait before publishing, so an outcome that comes back quickly cannot be missed.
      const abort = new AbortController();
      const wait = waitWanted ? startWait(abort.signal) : undefined;
      try {
        await app.publish(deps.topics.orders, { key: subscriptionId, envelope });
      } catch (error) {
        abort.abort();
        throw error;
      }
      // Kafka acknowledged: the request logger carries the correlation id the message carries.
      request.log.info(
        { orderId: ids.orderId, subscriptionId, orderType: order.order_type },
        "order accepted",
      );
      return finish(wait, answer("queued"));
    },
  );
};
