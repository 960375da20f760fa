import {
  currentItems,
  currentOfferId,
  currentPeriodEnd,
  DomainRuleError,
  discountOff,
  FieldRefusal,
  type LimioChangeOfferOrder,
  type LimioNewOrder,
  type NewOrderPlan,
  type Offer,
  parseLimioOrder,
  planNewOrder,
  planSwitch,
  subscriptionCreateParams,
} from "@bridge/domain";
import { type Db, findOrderedOffer, findSubscription } from "@bridge/store";
import { type Stripe, stripeNow } from "@bridge/stripe-client";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../../deps.ts";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { StripeBudgetWaitEnded, withinRequestBudget } from "../../preview-budget.ts";
import { bodyCheckedByHandler } from "../body-checked-by-handler.ts";
import { submitOrderBody } from "./schemas.ts";

/**
 * `POST /api/order/preview`: what Stripe would charge for an order, from Stripe's own invoice
 * preview (`invoices.createPreview`) with the parameters the writer's rules give
 * (planNewOrder / planSwitch). Reads only: no Stripe object is created, nothing is published
 * (docs/decisions/026-order-preview.md).
 */

const iso = z.iso.datetime().meta({ description: "ISO 8601, UTC" });
const money = z.number().int().meta({ description: "Minor units (pence, cents), as Stripe counts" });

const orderPreviewSchema = z
  .object({
    order_type: z.enum(["new", "change_offer"]),
    today: z.object({
      amount: money.describe("What Stripe charges when the order is applied (its invoice's amount_due)"),
      currency: z.string(),
      lines: z.array(z.object({ description: z.string().nullable(), amount: money })),
    }),
    nextRenewal: z
      .object({ amount: money, date: iso })
      .nullable()
      .describe("The first renewal after the order; null when the subscription ends before it"),
    effectiveAt: iso.describe("When the order takes effect: now, or the scheduled switch date"),
    direction: z.enum(["upgrade", "downgrade", "same"]).optional(),
  })
  .meta({ id: "OrderPreview" });
type OrderPreview = z.infer<typeof orderPreviewSchema>;

type Preview = Stripe.Invoice;
const when = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
const linesOf = (preview: Preview) =>
  preview.lines.data.map((line) => ({ description: line.description, amount: line.amount }));
/** The period the preview's recurring lines bill up to: the next renewal. */
const periodEndOf = (preview: Preview) => Math.max(...preview.lines.data.map((line) => line.period.end));
const isProration = (line: Preview["lines"]["data"][number]) =>
  line.parent?.subscription_item_details?.proration === true;

/** A rule refusing part of the order: 422 naming the field, as the writer would refuse it. */
function refused(error: unknown): never {
  if (error instanceof FieldRefusal)
    throw new HttpError(422, error.code, error.message, {
      details: [{ path: error.path, message: error.message }],
    });
  if (error instanceof DomainRuleError) throw new HttpError(422, error.code, error.message);
  throw error;
}

/** Stripe prices by lookup key (read only). A charge Stripe never priced cannot be previewed: 409. */
async function priceIds(
  stripe: Stripe,
  lookupKeys: string[],
  offerIds: string,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const key of new Set(lookupKeys)) {
    const price = (await stripe.prices.list({ lookup_keys: [key], limit: 1 })).data[0];
    if (!price)
      throw new HttpError(
        409,
        "offer_not_priced",
        `offer '${offerIds}' has no Stripe price yet (lookup key '${key}'): the first order of it creates the price; a preview creates nothing`,
      );
    ids.set(key, price.id);
  }
  return ids;
}

/**
 * The catalog offers by id, each in the version the order names, else the current one: the
 * version the writer bills (its loadOffer, decision 022). The first mention of an id wins, as there.
 */
async function loadOffers(
  db: Db,
  refs: { id: string; version?: string | undefined }[],
): Promise<Map<string, Offer>> {
  const first = new Map<string, string | undefined>();
  for (const ref of refs) if (!first.has(ref.id)) first.set(ref.id, ref.version);
  const rows = await Promise.all(
    [...first].map(async ([id, version]) => [id, await findOrderedOffer(db, { id, version })] as const),
  );
  return new Map(rows.flatMap(([id, raw]) => (raw ? [[id, raw as Offer] as const] : [])));
}

/** What a coupon still takes off at the first renewal (Stripe applies `once` to the first invoice only). */
function renewalAmount(plan: NewOrderPlan): number {
  const amounts = plan.items.map((c) => c.amount);
  const full = amounts.reduce((a, b) => a + b, 0);
  const coupon = plan.coupon;
  if (!coupon || coupon.duration === "once") return full;
  const monthsPerPeriod =
    plan.recurring.interval === "year"
      ? 12 * plan.recurring.interval_count
      : plan.recurring.interval === "month"
        ? plan.recurring.interval_count
        : 0;
  if (coupon.duration === "repeating" && (coupon.duration_in_months ?? 0) <= monthsPerPeriod) return full;
  return full - discountOff(coupon, amounts);
}

async function previewNewOrder(deps: RouteDeps, stripe: Stripe, order: LimioNewOrder): Promise<OrderPreview> {
  const offerRefs = order.orderItems.flatMap((item) => [
    item.offer,
    ...(item.addOns ?? []).flatMap((a) => a.addOn ?? a.offer ?? []),
  ]);
  const offers = await loadOffers(deps.store.db, offerRefs);
  const now = new Date();
  let plan: NewOrderPlan;
  try {
    plan = planNewOrder({
      order,
      findOffer: (id) => offers.get(id),
      now,
      limits: { maxQuantity: deps.config.MAX_QUANTITY },
    });
  } catch (error) {
    refused(error);
  }
  // The customer the writer would use (matched by lower-cased email), with their test clock and
  // discounts; a first-time buyer is described by `customer_details` instead (a preview creates none).
  const customer = (await stripe.customers.list({ email: order.email.trim().toLowerCase(), limit: 1 }))
    .data[0];
  const charges = [...plan.items, ...plan.addInvoiceItems];
  const prices = await priceIds(
    stripe,
    charges.map((c) => c.price.lookup_key),
    plan.offerId,
  );
  const params = subscriptionCreateParams(plan, (c) => prices.get(c.price.lookup_key)!);
  // `cancel_at` (a fixed term) changes nothing billed today; its effect on the renewal is below.
  const preview = await stripe.invoices.createPreview({
    ...(customer ? { customer: customer.id } : { customer_details: { tax_exempt: "none" } }),
    subscription_details: {
      items: params.items,
      ...(params.trial_end !== undefined ? { trial_end: params.trial_end } : {}),
    },
    ...(params.add_invoice_items ? { invoice_items: params.add_invoice_items } : {}),
    ...(params.discounts ? { discounts: params.discounts } : {}),
  });
  const renewal = periodEndOf(preview);
  const endsFirst = plan.cancelAt !== undefined && plan.cancelAt.getTime() <= renewal * 1000;
  return {
    order_type: "new",
    today: { amount: preview.amount_due, currency: preview.currency, lines: linesOf(preview) },
    nextRenewal: endsFirst ? null : { amount: renewalAmount(plan), date: when(renewal) },
    effectiveAt: now.toISOString(),
  };
}

async function previewSwitch(
  deps: RouteDeps,
  stripe: Stripe,
  order: LimioChangeOfferOrder,
): Promise<OrderPreview> {
  const db = deps.store.db;
  const row = await findSubscription(db, order.subscriptionId);
  if (!row)
    throw new HttpError(404, "subscription_not_found", `no Limio subscription ${order.subscriptionId}`);
  if (!row.stripeSubscriptionId)
    throw new HttpError(409, "subscription_not_linked", `${row.id} has no Stripe subscription yet`);
  const sub = await stripe.subscriptions.retrieve(row.stripeSubscriptionId);
  const fromId = currentOfferId(row.offerId, sub);
  if (!fromId) throw new HttpError(409, "offer_not_found", `cannot tell which offer ${row.id} is on`);
  // As the writer loads them: the subscription's offer in its current version, the one switched
  // to in the version the order names (each on its own: they may be two versions of one offer).
  const [fromOffers, toOffers] = await Promise.all([
    loadOffers(db, [{ id: fromId }]),
    loadOffers(db, [order.offer]),
  ]);
  const load = (offers: Map<string, Offer>, id: string, path: string) =>
    offers.get(id) ?? refused(new FieldRefusal(path, `no published offer '${id}' in the catalog`));
  const from = load(fromOffers, fromId, "subscriptionId");
  const to = load(toOffers, order.offer.id, "offer.id");
  const now = await stripeNow(stripe, sub);
  let planned: ReturnType<typeof planSwitch>;
  try {
    planned = planSwitch({
      from,
      to,
      current: currentItems(sub),
      effectiveDate: order.effectiveDate,
      periodEnd: new Date(currentPeriodEnd(sub) * 1000),
      now,
    });
  } catch (error) {
    refused(error);
  }
  if (planned.kind === "no_change") throw new HttpError(422, "no_change", planned.reason);
  if (planned.kind === "scheduled" && planned.timing === "date")
    throw new HttpError(422, "not_previewable", "a switch at a date inside the period is not previewed yet", {
      details: [{ path: "effectiveDate", message: "only now or the period end are previewed" }],
    });
  const prices = await priceIds(
    stripe,
    planned.newPrices.map((p) => p.price.lookup_key),
    to.id,
  );
  const priceOf = (p: { lookup_key: string } | { existing: string }) =>
    "existing" in p ? p.existing : prices.get(p.lookup_key)!;

  if (planned.kind === "immediate") {
    // The writer's update: prorated, invoiced at once, a new period from today.
    const preview = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: {
        items: planned.update.items.map((item) => ({ ...item, price: priceOf(item.price) })),
        proration_behavior: planned.update.proration_behavior,
        billing_cycle_anchor: planned.update.billing_cycle_anchor,
      },
    });
    const period = preview.lines.data.filter((line) => !isProration(line));
    return {
      order_type: "change_offer",
      today: { amount: preview.amount_due, currency: preview.currency, lines: linesOf(preview) },
      nextRenewal: {
        amount: period.reduce((sum, line) => sum + line.amount, 0),
        date: when(periodEndOf(preview)),
      },
      effectiveAt: now.toISOString(),
      direction: planned.direction,
    };
  }
  // At the period end: the schedule's second phase (its items) billed at the renewal, nothing today.
  const [, next] = planned.phases;
  const preview = await stripe.invoices.createPreview({
    subscription: sub.id,
    subscription_details: {
      items: [
        ...sub.items.data.map((item) => ({ id: item.id, deleted: true })),
        ...next.items.map((item) => ({ price: priceOf(item.price), quantity: item.quantity })),
      ],
      proration_behavior: "none",
    },
  });
  return {
    order_type: "change_offer",
    today: { amount: 0, currency: preview.currency, lines: [] },
    nextRenewal: { amount: preview.amount_due, date: when(planned.switchAt.getTime() / 1000) },
    effectiveAt: planned.switchAt.toISOString(),
    direction: planned.direction,
  };
}

export const previewOrderRoute: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.post(
    "/api/order/preview",
    {
      onRequest: app.requireScope("orders"),
      config: { rateLimit: { max: deps.config.RATE_LIMIT_ORDERS_PER_MINUTE, timeWindow: 60_000 } },
      validatorCompiler: bodyCheckedByHandler,
      schema: {
        tags: ["orders"],
        summary: "Preview what an order will charge (new order or offer switch)",
        description:
          "Stripe's own invoice preview (`invoices.createPreview`) of the order, with the parameters the " +
          "writer would use: what is charged today, the next renewal, when the change takes effect and, " +
          "for a switch, its direction. Creates nothing in Stripe and publishes nothing. 409 " +
          "`offer_not_priced` when an offer has no Stripe price yet (a first-time buyer is previewed without " +
          "creating a customer); 422 naming the field for what the writer would refuse; " +
          "503 when the gateway has no Stripe key, and 503 `stripe_budget_busy` with Retry-After when the " +
          "account's Stripe request budget (which serves previews after orders) has no slot for it within " +
          "PREVIEW_BUDGET_WAIT_MS.",
        security: [{ bearerAuth: [] }],
        body: submitOrderBody,
        response: {
          200: orderPreviewSchema,
          ...errorResponses(400, 401, 403, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const stripe = deps.stripe;
      if (!stripe)
        throw new HttpError(
          503,
          "preview_unavailable",
          "the gateway has no STRIPE_SECRET_KEY: previews are off",
        );
      const parsed = parseLimioOrder(request.body);
      if (!parsed.ok)
        throw new HttpError(400, parsed.code, "the order is invalid", { details: parsed.errors });
      const order = parsed.order;
      // The client going away ends the preview's waits for the Stripe budget.
      const gone = new AbortController();
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      const bound = { deadline: Date.now() + deps.config.PREVIEW_BUDGET_WAIT_MS, signal: gone.signal };
      try {
        if (order.order_type === "new")
          return await withinRequestBudget(bound, () => previewNewOrder(deps, stripe, order));
        if (order.order_type === "change_offer")
          return await withinRequestBudget(bound, () => previewSwitch(deps, stripe, order));
      } catch (error) {
        if (error instanceof StripeBudgetWaitEnded)
          throw new HttpError(503, "stripe_budget_busy", error.message, {
            headers: { "Retry-After": String(deps.config.RETRY_AFTER_SECONDS) },
          });
        // Stripe refusing the preview's parameters: what it would refuse for the order itself.
        if ((error as { type?: string }).type === "StripeInvalidRequestError")
          throw new HttpError(422, "stripe_refused", (error as Error).message, { cause: error });
        throw error;
      }
      throw new HttpError(422, "not_previewable", `a ${order.order_type} order has nothing to preview`, {
        details: [{ path: "order_type", message: "previews cover new and change_offer" }],
      });
    },
  );
};
