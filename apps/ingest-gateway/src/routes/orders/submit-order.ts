import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses } from "../../http-errors.ts";
import { bodyCheckedByHandler } from "../body-checked-by-handler.ts";
import { createOfferVersionCheck } from "../catalog/offer-versions.ts";
import { finalStatuses, type OrderAnswer, orderAnswerSchema, submitOrderBody } from "./schemas.ts";
import {
  answers,
  createExistingOrderLookup,
  findReferenceHolders,
  limioSyncOf,
  orderEnvelope,
  parseSubmission,
  publishedOrder,
  refuseConflict,
  refuseExistingSubscription,
  refuseTakenReferences,
  resolveTarget,
  storedOrder,
  waitForOutcome,
} from "./submission.ts";
import { createSubmissionReads } from "./submission-reads.ts";

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

/** `POST /api/order` (alias `/api/orders`, app.ts): Limio's Send Order API. Validates, publishes durably, optionally waits. */
export const submitOrderRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  const db = deps.store.db;
  const waitMs = deps.config.WAIT_TIMEOUT_MS;
  const reads = createSubmissionReads(deps.store);
  const findExistingOrder = createExistingOrderLookup(reads);
  const refuseUnknownOfferVersions = createOfferVersionCheck(db);

  app.post(
    "/api/order",
    {
      onRequest: app.requireScope("orders"),
      config: { rateLimit: { max: deps.config.RATE_LIMIT_ORDERS_PER_MINUTE, timeWindow: 60_000 } },
      // The body schema documents the order; parseLimioOrder validates it (once) with field paths.
      validatorCompiler: bodyCheckedByHandler,
      schema: {
        tags: ["orders"],
        summary: "Submit a Limio order (Send Order API)",
        description:
          "Limio's `POST /api/order`; `POST /api/orders` is the same route (an alias). " +
          "Validates the order, uses the `id`, `order_reference` and `sub_reference` it carries (else mints them; " +
          "a reference that names another order or subscription is 409 `reference_taken`; a new order carrying the id of an " +
          "existing subscription in `subscriptionId` or `forSubscription.id` is 409 `subscription_exists`, unless it resubmits " +
          "the order that created it) and publishes `limio.order.submitted` v1 to `limio.orders.v1` " +
          "keyed by the Limio subscription id. 2xx only once Kafka acknowledged. Idempotent per API key on the " +
          "`Idempotency-Key` header, else on `source` + `external_id`: a resubmission gets the same ids " +
          "and answer; the same identity with a different payload is 409 naming the fields that differ. " +
          "Bodies outside the edge limits (NUL or unpaired surrogates in strings, depth, sizes, quantities, " +
          "amounts) are 400 naming the field.",
        security: [{ bearerAuth: [] }],
        headers,
        body: submitOrderBody,
        response: {
          200: orderAnswerSchema.describe("process_immediately: the order's final state"),
          202: orderAnswerSchema.describe("Queued: Kafka acknowledged the order (or the wait timed out)"),
          ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const deadline = Date.now() + waitMs;
      const submission = parseSubmission(
        request.body,
        request.apiKeyName,
        request.headers["idempotency-key"],
      );
      await refuseUnknownOfferVersions(submission.order);
      // The store reads go out together (one round trip), each grouped with concurrent orders'.
      const [existing, target, holders] = await Promise.all([
        findExistingOrder(submission, request.apiKeyName),
        resolveTarget(reads, submission),
        findReferenceHolders(reads, submission),
      ]);
      refuseExistingSubscription(submission, existing, holders);
      refuseTakenReferences(submission, target, existing, holders);
      const order = publishedOrder(submission, target);
      const answer = answers(submission, target);
      const waitWanted = submission.order.process_immediately === true && waitMs > 0;

      /** 200 with a final state (and, when applied, whether Limio shows it yet), else 202. */
      const send = async (result: OrderAnswer) => {
        if (!finalStatuses.includes(result.status)) return reply.code(202).send(result);
        if (result.status !== "applied" || !waitWanted) return reply.code(200).send(result);
        return reply.code(200).send({ ...result, limioSync: await limioSyncOf(deps, result.id, deadline) });
      };
      /** After a wait: the outcome if one came, else what the store knows, else `fallback`. */
      const afterWait = async (
        outcome: Awaited<ReturnType<typeof waitForOutcome>>,
        fallback: OrderAnswer,
      ) => {
        if (outcome) return send(answer.fromOutcome(outcome));
        const row = await storedOrder(db, submission.ids.orderId);
        return send(row ? answer.fromStore(row) : fallback);
      };

      if (existing) {
        refuseConflict(existing, order, submission);
        const stored = answer.fromStore(existing);
        if (
          finalStatuses.includes(existing.status) ||
          !waitWanted ||
          existing.id !== submission.ids.orderId
        ) {
          return send(stored);
        }
        const outcome = await waitForOutcome(deps, existing.id, deadline, new AbortController().signal);
        return afterWait(outcome, stored);
      }

      // Wait before publishing, so an outcome that comes back quickly cannot be missed.
      const abort = new AbortController();
      const wait = waitWanted
        ? waitForOutcome(deps, submission.ids.orderId, deadline, abort.signal)
        : undefined;
      try {
        await app.publish(deps.topics.orders, {
          key: target.subscriptionId,
          envelope: orderEnvelope(submission, target, order, request.id),
        });
      } catch (error) {
        abort.abort();
        throw error;
      }
      request.log.info(
        {
          orderId: submission.ids.orderId,
          subscriptionId: target.subscriptionId,
          orderType: order.order_type,
        },
        "order accepted",
      );
      return wait ? afterWait(await wait, answer.queued()) : reply.code(202).send(answer.queued());
    },
  );
};
