import { findSubscriptionDetail, listEventsForSubscription } from "@bridge/store";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);
const date = z.string().nullable();

const subscriptionView = z
  .object({
    id: z.string(),
    reference: z.string(),
    status: z.string().meta({ description: "Limio status: pending | active | cancelled | expired" }),
    stripeStatus: z.string().nullable(),
    cancelAtTermEnd: z.boolean(),
    startDate: date,
    termStart: date,
    termEnd: date,
    endedAt: date,
    origin: z.string(),
    source: z.string(),
    lastSyncedAt: date,
    customer: z.object({
      id: z.string(),
      email: z.string(),
      firstName: z.string().nullable(),
      lastName: z.string().nullable(),
    }),
    offer: z
      .object({
        id: z.string(),
        name: z.string(),
        version: z.string().nullable().meta({ description: "The offer version it bought (decision 022)" }),
      })
      .nullable(),
    stripe: z.object({
      customerId: z.string().nullable(),
      subscriptionId: z.string().nullable(),
      scheduleId: z.string().nullable(),
    }),
    paymentSchedules: z.array(
      z.object({
        id: z.string(),
        status: z.string(),
        amount: z.number().int().meta({ description: "Minor units" }),
        currency: z.string(),
        dueDate: date,
        periodStart: date,
        periodEnd: date,
        paidAt: date,
        stripeInvoiceId: z.string().nullable(),
      }),
    ),
    paymentMethod: z
      .object({
        stripePaymentMethodId: z.string(),
        type: z.string(),
        brand: z.string().nullable(),
        last4: z.string().nullable(),
        expMonth: z.number().int().nullable(),
        expYear: z.number().int().nullable(),
      })
      .nullable(),
    events: z.array(
      z.object({
        id: z.string(),
        type: z.string(),
        source: z.string(),
        orderId: z.string().nullable(),
        causeId: z.string().nullable(),
        changes: z.unknown(),
        createdAt: z.string(),
      }),
    ),
  })
  .meta({
    id: "Subscription",
    examples: [
      {
        id: "sub-5c3d83c60950014c306865f0ab8c499b",
        reference: "29CVV5SJFRQ2",
        status: "active",
        stripeStatus: "active",
        cancelAtTermEnd: false,
        startDate: "2026-11-21T10:00:00.000Z",
        termStart: "2026-11-21T10:00:00.000Z",
        termEnd: "2026-12-21T10:00:00.000Z",
        endedAt: null,
        origin: "limio",
        source: "shop",
        lastSyncedAt: "2026-11-21T10:00:03.000Z",
        customer: {
          id: "cus-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
          email: "ada@example.com",
          firstName: "Ada",
          lastName: "Lovelace",
        },
        offer: {
          id: "f9a4695c077b2d1446d4fd8ebfd071b428e90899",
          name: "Print + Digital",
          version: "f26cd9c730ca67ed80b2607779c1f1a6faf493f7",
        },
        stripe: { customerId: "cus_Q1", subscriptionId: "sub_Q1", scheduleId: null },
        paymentSchedules: [
          {
            id: "schedule-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            status: "paid",
            amount: 1499,
            currency: "gbp",
            dueDate: "2026-11-21T10:00:00.000Z",
            periodStart: "2026-11-21T10:00:00.000Z",
            periodEnd: "2026-12-21T10:00:00.000Z",
            paidAt: "2026-11-21T10:00:02.000Z",
            stripeInvoiceId: "in_Q1",
          },
        ],
        paymentMethod: {
          stripePaymentMethodId: "pm_Q1",
          type: "card",
          brand: "visa",
          last4: "4242",
          expMonth: 12,
          expYear: 2030,
        },
        events: [
          {
            id: "event-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            type: "subscription.status_changed",
            source: "stripe",
            orderId: null,
            causeId: "evt_1QxYz",
            changes: { status: { from: "pending", to: "active" } },
            createdAt: "2026-11-21T10:00:03.000Z",
          },
        ],
      },
    ],
  });

/** `GET /api/subscriptions/{id}`: the Limio subscription with schedules, payment method and event log. */
export const getSubscriptionRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.get(
    "/api/subscriptions/:id",
    {
      onRequest: app.requireScope("read"),
      schema: {
        tags: ["subscriptions"],
        summary: "Read a Limio subscription with its payment schedules, payment method and event log",
        security: [{ bearerAuth: [] }],
        params: z.object({ id: z.string().regex(/^sub-[0-9a-f]{32}$/, "expected sub-<32 hex>") }),
        response: { 200: subscriptionView, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const [sub, events] = await Promise.all([
        findSubscriptionDetail(deps.store.db, id),
        listEventsForSubscription(deps.store.db, id),
      ]);
      if (!sub) throw new HttpError(404, "subscription_not_found", `no Limio subscription ${id}`);
      return {
        id: sub.id,
        reference: sub.reference,
        status: sub.status,
        stripeStatus: sub.stripeStatus,
        cancelAtTermEnd: sub.cancelAtTermEnd,
        startDate: iso(sub.startDate),
        termStart: iso(sub.termStart),
        termEnd: iso(sub.termEnd),
        endedAt: iso(sub.endedAt),
        origin: sub.origin,
        source: sub.source,
        lastSyncedAt: iso(sub.lastSyncedAt),
        customer: {
          id: sub.customer.id,
          email: sub.customer.email,
          firstName: sub.customer.firstName,
          lastName: sub.customer.lastName,
        },
        offer: sub.offer ? { id: sub.offer.id, name: sub.offer.name, version: sub.offerVersion } : null,
        stripe: {
          customerId: sub.stripeCustomerId,
          subscriptionId: sub.stripeSubscriptionId,
          scheduleId: sub.stripeScheduleId,
        },
        paymentSchedules: sub.paymentSchedules.map((s) => ({
          id: s.id,
          status: s.status,
          amount: s.amount,
          currency: s.currency,
          dueDate: iso(s.dueDate),
          periodStart: iso(s.periodStart),
          periodEnd: iso(s.periodEnd),
          paidAt: iso(s.paidAt),
          stripeInvoiceId: s.stripeInvoiceId,
        })),
        paymentMethod: sub.paymentMethod
          ? {
              stripePaymentMethodId: sub.paymentMethod.stripePaymentMethodId,
              type: sub.paymentMethod.type,
              brand: sub.paymentMethod.brand,
              last4: sub.paymentMethod.last4,
              expMonth: sub.paymentMethod.expMonth,
              expYear: sub.paymentMethod.expYear,
            }
          : null,
        events: events.map((e) => ({
          id: e.id,
          type: e.type,
          source: e.source,
          orderId: e.orderId,
          causeId: e.causeId,
          changes: e.changes,
          createdAt: e.createdAt.toISOString(),
        })),
      };
    },
  );
};
