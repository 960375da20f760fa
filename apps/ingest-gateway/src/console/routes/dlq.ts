import { messageTypes } from "@bridge/domain";
import { type DlqEntry, dlqTopicOf, readTopic, redrive } from "@bridge/messaging";
import { appendEvent, eventsCausedBy, finishedOrderIds, handledMessageIds } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { CONSOLE_API, type ConsoleDeps, security } from "../deps.ts";
import { redactSecrets } from "../views.ts";

const REDRIVEN = "console.dlq_redriven";
const LIST_LIMIT = 100;
const READ_TIMEOUT_MS = 10_000;

/** Where a DLQ entry sits, as `x-redriven-from` names it: the audit event's cause. */
const positionOf = (dlq: string, entry: Pick<DlqEntry, "partition" | "offset">) =>
  `${dlq}/${entry.partition}/${entry.offset}`;

type DecodedEnvelope = { id?: string; type?: string; orderId?: string; body: unknown };

function envelopeOf(value: Buffer | null): DecodedEnvelope {
  const text = value?.toString("utf8") ?? "";
  try {
    const parsed = JSON.parse(text) as { id?: unknown; type?: unknown; data?: { orderId?: unknown } };
    return {
      ...(typeof parsed.id === "string" ? { id: parsed.id } : {}),
      ...(typeof parsed.type === "string" ? { type: parsed.type } : {}),
      ...(parsed.type === messageTypes.orderSubmitted && typeof parsed.data?.orderId === "string"
        ? { orderId: parsed.data.orderId }
        : {}),
      body: redactSecrets(parsed),
    };
  } catch {
    return { body: text.slice(0, 4_000) };
  }
}

const dlqMessage = z
  .object({
    id: z.string().meta({ description: "`<partition>-<offset>` in the DLQ topic" }),
    key: z.string().nullable(),
    messageId: z.string().nullable(),
    messageType: z.string().nullable(),
    errorClass: z.string().nullable(),
    errorMessage: z.string().nullable(),
    failedAt: z.string().nullable(),
    originalTopic: z.string().nullable(),
    headers: z.record(z.string(), z.string()),
    value: z.unknown().meta({ description: "The message as it failed (client secrets redacted)" }),
    applied: z.boolean().meta({
      description:
        "Handled since: a consumer recorded this message id in its inbox (the sync-consumer), or, " +
        "for an order, the writer finished it (applied, failed or skipped)",
    }),
    redriven: z.array(z.object({ at: z.string(), operator: z.string() })),
  })
  .meta({ id: "ConsoleDlqMessage" });

const dlqTopic = z
  .object({
    topic: z.string(),
    dlqTopic: z.string(),
    messages: z.array(dlqMessage),
    error: z.string().optional().meta({ description: "Why this DLQ could not be read" }),
  })
  .meta({ id: "ConsoleDlqTopic" });

/** DLQ messages per topic with their error headers, and the audited re-drive action. */
export const dlqRoutes: FastifyPluginAsyncZod<{ deps: ConsoleDeps }> = async (app, { deps }) => {
  const bridgeTopics = Object.values(deps.topics);

  async function readDlq(topic: string): Promise<z.infer<typeof dlqTopic>> {
    const dlq = dlqTopicOf(topic);
    let entries: DlqEntry[];
    try {
      entries = await readTopic(deps.kafka, dlq, { limit: LIST_LIMIT, timeoutMs: READ_TIMEOUT_MS });
    } catch (error) {
      return { topic, dlqTopic: dlq, messages: [], error: (error as Error).message };
    }
    const envelopes = entries.map((entry) => envelopeOf(entry.value));
    const ids = envelopes.flatMap((e) => (e.id ? [e.id] : []));
    const orderIds = envelopes.flatMap((e) => (e.orderId ? [e.orderId] : []));
    const [handled, finishedOrders, redrives] = await Promise.all([
      handledMessageIds(deps.store.db, ids),
      finishedOrderIds(deps.store.db, orderIds),
      eventsCausedBy(
        deps.store.db,
        [REDRIVEN],
        entries.map((entry) => positionOf(dlq, entry)),
      ),
    ]);
    const messages = entries.map((entry, index) => {
      const envelope = envelopes[index] ?? { body: null };
      return {
        id: entry.id,
        key: entry.key,
        messageId: envelope.id ?? null,
        messageType: envelope.type ?? null,
        errorClass: entry.errorClass ?? null,
        errorMessage: entry.errorMessage ?? null,
        failedAt: entry.failedAt ?? null,
        originalTopic: entry.original.topic ?? null,
        headers: entry.headers,
        value: envelope.body,
        applied:
          (envelope.id !== undefined && handled.has(envelope.id)) ||
          (envelope.orderId !== undefined && finishedOrders.has(envelope.orderId)),
        redriven: redrives
          .filter((event) => event.causeId === positionOf(dlq, entry))
          .map((event) => ({
            at: event.createdAt.toISOString(),
            operator: String((event.changes as { operator?: unknown }).operator ?? ""),
          })),
      };
    });
    return { topic, dlqTopic: dlq, messages };
  }

  app.get(
    `${CONSOLE_API}/dlq`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: `Dead-lettered messages of every bridge topic (up to ${LIST_LIMIT} each)`,
        security,
        response: { 200: z.object({ topics: z.array(dlqTopic) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({ topics: await Promise.all(bridgeTopics.map(readDlq)) }),
  );

  app.post(
    `${CONSOLE_API}/dlq/:topic/redrive`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "Re-drive dead-lettered messages to their original topic (audited)",
        description:
          "Republishes the chosen DLQ entries with their key, value and headers (failure stamps " +
          "removed, `x-redriven-from` added), as `bridge dlq-redrive` does, and records one " +
          "`console.dlq_redriven` event per message with the operator's key name.",
        security,
        params: z.object({ topic: z.string().meta({ example: "limio.sync.v1" }) }),
        body: z.object({
          ids: z
            .array(z.string().regex(/^\d+-\d+$/))
            .min(1)
            .max(LIST_LIMIT),
        }),
        response: {
          200: z.object({ redriven: z.array(z.object({ id: z.string(), topic: z.string() })) }),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const topic = bridgeTopics.find(
        (t) => t === request.params.topic || dlqTopicOf(t) === request.params.topic,
      );
      if (!topic)
        throw new HttpError(404, "topic_not_found", `${request.params.topic} is not a bridge topic`);
      const dlq = dlqTopicOf(topic);
      let done: { id: string; topic: string }[];
      try {
        done = await redrive(deps.kafka, dlq, { ids: request.body.ids, timeoutMs: READ_TIMEOUT_MS });
      } catch (error) {
        if ((error as Error).message.startsWith(`not in ${dlq}`))
          throw new HttpError(404, "dlq_message_not_found", (error as Error).message);
        throw error;
      }
      for (const entry of done) {
        const [partition, offset] = entry.id.split("-");
        await appendEvent(deps.store.db, {
          type: REDRIVEN,
          source: "operator",
          causeId: positionOf(dlq, { partition: Number(partition), offset: String(offset) }),
          correlationId: request.id,
          changes: { operator: request.apiKeyName, dlqTopic: dlq, entry: entry.id, topic: entry.topic },
        });
      }
      request.log.info({ dlq, count: done.length, operator: request.apiKeyName }, "console re-drive");
      return { redriven: done };
    },
  );
};
