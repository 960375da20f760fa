import {
  type Envelope,
  fieldErrorsOf,
  isHandledStripeEventType,
  messageTypes,
  type StripeEventLike,
  type StripeEventReceivedV1,
  stripeEventKey,
  stripeEventReceivedData,
} from "@bridge/domain";
import type { OutgoingMessage } from "@bridge/messaging";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import Stripe from "stripe";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { refuseUnstorable, verifiedStripeEventLimits } from "../../plugins/input-limits.ts";
import { bodyCheckedByHandler } from "../body-checked-by-handler.ts";

/** Stripe's default tolerance: a signature older (or, here, newer) than 5 minutes is refused. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

type VerifyFailure = "missing_header" | "malformed_header" | "expired" | "future" | "mismatch";

/** Verifies against every configured secret (rotation); the reason of the last failure otherwise. */
function verify(
  rawBody: Buffer,
  header: string | undefined,
  secrets: string[],
): { ok: true; event: unknown } | { ok: false; reason: VerifyFailure } {
  if (!header) return { ok: false, reason: "missing_header" };
  const timestamp = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  if (!timestamp || !/(^|,)v1=[0-9a-f]+/.test(header)) {
    return { ok: false, reason: "malformed_header" };
  }
  // The SDK refuses only signatures older than the tolerance; one dated later than it is refused
  // too, so a signature captured from a clock-skewed or compromised signer cannot be replayed later.
  if (Number(timestamp) > Date.now() / 1000 + SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: "future" };
  }
  let reason: VerifyFailure = "mismatch";
  for (const secret of secrets) {
    try {
      return {
        ok: true,
        event: Stripe.webhooks.constructEvent(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS),
      };
    } catch (error) {
      // The SDK checks the signature first, then the timestamp: "tolerance" means it matched but is stale.
      if (error instanceof Error && /tolerance/i.test(error.message)) reason = "expired";
    }
  }
  return { ok: false, reason };
}

const webhookAnswer = z
  .object({
    received: z.literal(true),
    id: z.string().meta({ description: "The Stripe event id" }),
    published: z.boolean().meta({ description: "false for event types the bridge does not handle" }),
  })
  .meta({ id: "WebhookAnswer", examples: [{ received: true, id: "evt_1QxYz", published: true }] });

const stripeEventBody = z
  .object({
    id: z.string(),
    object: z.literal("event"),
    type: z.string(),
    created: z.number().int(),
    livemode: z.boolean(),
    data: z.object({ object: z.object({ object: z.string() }).loose() }).loose(),
  })
  .loose()
  .meta({
    id: "StripeEvent",
    description: "A Stripe event, sent by Stripe with a `Stripe-Signature` header over the raw body",
    examples: [
      {
        id: "evt_1QxYz",
        object: "event",
        type: "customer.subscription.updated",
        created: 1795287197,
        livemode: false,
        data: { object: { id: "sub_1QxYz", object: "subscription", customer: "cus_Q1", status: "active" } },
      },
    ],
  });

/** The `stripe.event.received` message of a verified event: the Stripe event id is the message id. */
export function stripeEventMessage(
  event: StripeEventLike,
  data: StripeEventReceivedV1,
  correlationId: string,
): OutgoingMessage<StripeEventReceivedV1> {
  const envelope: Envelope<StripeEventReceivedV1> = {
    id: event.id,
    type: messageTypes.stripeEventReceived,
    version: 1,
    occurredAt: new Date(event.created * 1000).toISOString(),
    source: "stripe",
    correlationId,
    data,
  };
  return { key: stripeEventKey(event), envelope };
}

/** `POST /webhooks/stripe`: verified on the raw body, published to stripe.events.v1, 200 after the ack. */
export const stripeWebhookRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  const secrets = deps.config.STRIPE_WEBHOOK_SECRETS;
  // The signature covers the exact bytes: keep the body raw in this plugin's scope, JSON only (else 415).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) =>
    done(null, body),
  );

  const refuse = (reason: VerifyFailure, log: { warn(o: object, m: string): void }) => {
    app.gatewayMetrics.webhookVerificationFailures.inc({ reason });
    log.warn({ reason }, "stripe webhook signature refused");
    return new HttpError(400, "invalid_signature", `webhook signature verification failed (${reason})`);
  };

  app.post(
    "/webhooks/stripe",
    {
      // This route faces the internet unauthenticated: a request without a signature is refused
      // before its body is read (and its connection closed), and bodies are bounded to what
      // Stripe's events need.
      bodyLimit: deps.config.WEBHOOK_BODY_LIMIT_BYTES,
      onRequest: async (request, reply) => {
        if (typeof request.headers["stripe-signature"] !== "string") {
          reply.header("connection", "close");
          throw refuse("missing_header", request.log);
        }
      },
      // The body is verified, parsed and validated by the handler; its schema only documents it.
      // (Validating the raw Buffer against the object schema failed every time, after walking
      // each byte as a field of a loose object: a third of a webhook's CPU, decision 028.)
      validatorCompiler: bodyCheckedByHandler,
      schema: {
        tags: ["webhooks"],
        summary: "Receive a signed Stripe webhook",
        description:
          "Verifies `Stripe-Signature` (HMAC-SHA256 over `<t>.<raw body>`, 300 s tolerance, every configured " +
          "secret accepted during rotation), then publishes `stripe.event.received` v1 to `stripe.events.v1` " +
          "keyed by the Stripe subscription (else customer, else event) id, with the Stripe event id as " +
          "message id so redeliveries dedupe downstream. 200 only once Kafka acknowledged; 503 makes Stripe " +
          "retry. Event types the bridge does not handle are acknowledged and counted, not published.",
        headers: z
          .object({
            // Required: a request without it is refused (400 invalid_signature) before its body is read.
            "stripe-signature": z.string().meta({
              description:
                "t=<unix seconds>,v1=<hex HMAC-SHA256>; missing or not verifying: 400 invalid_signature",
              example: "t=1795287197,v1=5257a8…",
            }),
          })
          .loose(),
        body: stripeEventBody,
        response: {
          200: webhookAnswer,
          ...errorResponses(400, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const raw = request.body as unknown;
      if (!Buffer.isBuffer(raw)) throw new HttpError(400, "invalid_body", "expected a JSON body");
      const header = request.headers["stripe-signature"];
      const verified = verify(raw, typeof header === "string" ? header : undefined, secrets);
      if (!verified.ok) throw refuse(verified.reason, request.log);
      // Stripe's objects, not a client's order: refused only for what the bridge cannot store.
      refuseUnstorable(verified.event, verifiedStripeEventLimits);
      let data: StripeEventReceivedV1;
      try {
        data = stripeEventReceivedData(verified.event as StripeEventLike);
      } catch (error) {
        const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues ?? [];
        throw new HttpError(400, "invalid_event", "the body is not a Stripe event", {
          details: fieldErrorsOf(issues),
        });
      }
      const event = verified.event as StripeEventLike;
      if (!isHandledStripeEventType(event.type)) {
        app.gatewayMetrics.webhookUnknownEventTypes.inc({ type: event.type });
        request.log.info(
          { eventId: event.id, type: event.type },
          "stripe event type not handled; acknowledged",
        );
        return reply.code(200).send({ received: true as const, id: event.id, published: false });
      }
      await app.publish(deps.topics.stripeEvents, stripeEventMessage(event, data, request.id));
      app.gatewayMetrics.webhookEvents.inc({ type: event.type });
      request.log.info({ eventId: event.id, type: event.type }, "stripe event accepted");
      return reply.code(200).send({ received: true as const, id: event.id, published: true });
    },
  );
};
