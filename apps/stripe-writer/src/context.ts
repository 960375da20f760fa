import type { AddressType, LimioOrder, Offer, OrderOutcomeV1 } from "@bridge/domain";
import { type MessageProducer, RetryableError } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { type Db, findOrderedOffer, findSubscription } from "@bridge/store";
import type { Registry } from "prom-client";
import type Stripe from "stripe";
import type { CrashHook } from "./crash.ts";
import type { HookContext, Hooks } from "./hooks.ts";
import type { StripeLookups } from "./lookups.ts";
import type { OrderSteps, StepRunner } from "./steps.ts";

export type WriterTopics = { orders: string; stripeEvents: string; orderOutcomes: string };

/** What the writer's handlers share, built once by the wiring. */
export type WriterDeps = {
  db: Db;
  stripe: Stripe;
  producer: MessageProducer;
  topics: WriterTopics;
  hooks: Hooks;
  lookups: StripeLookups;
  logger: Logger;
  registry?: Registry | undefined;
  crash?: CrashHook | undefined;
  /** ORDER_SECRET_KEY: seals the confirmation secret of a waiting order on its Order row. */
  orderSecretKey?: Buffer | undefined;
  now?: () => Date;
  /** The address a `change_address` without a type changes (WRITER_DEFAULT_ADDRESS_TYPE). */
  defaultAddressType?: AddressType | undefined;
};

/** Everything an action needs; built per order by the writer. */
export type ActionContext = {
  stripe: Stripe;
  db: Db;
  orderId: string;
  /** Limio subscription id (the Kafka key). */
  subscriptionId: string;
  source: string;
  order: LimioOrder;
  step: StepRunner;
  steps: OrderSteps;
  hooks: Hooks;
  lookups: StripeLookups;
  logger: Logger;
  defaultAddressType?: AddressType | undefined;
  /** The Stripe customers the action has named so far: a refusal is checked against their test clocks (failures.ts). */
  stripeCustomers: Set<string>;
};

export type StripeIds = OrderOutcomeV1["stripe"];
type ClientSecret = NonNullable<OrderOutcomeV1["clientSecret"]>;

/** What an action reports; the writer turns it into the outcome message and the Order row. */
export type ActionResult = {
  status: OrderOutcomeV1["status"];
  action: string;
  stripe: StripeIds;
  /** change_address: the type applied in Stripe (see OrderOutcomeV1.addressType). */
  addressType?: OrderOutcomeV1["addressType"];
  clientSecret?: ClientSecret | undefined;
  error?: { code: string; message: string; stripeCode?: string | undefined } | undefined;
};

export type Action = (ctx: ActionContext) => Promise<ActionResult>;

/**
 * A business failure decided by the writer (unknown subscription or offer, …): the order fails
 * with this code; `stripe` carries the ids created before the failure.
 */
export class OrderFailure extends Error {
  override readonly name = "OrderFailure";
  readonly code: string;
  readonly stripeCode: string | undefined;
  readonly stripe: StripeIds;
  constructor(
    code: string,
    message: string,
    options: { stripeCode?: string; stripe?: StripeIds; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.stripeCode = options.stripeCode;
    this.stripe = options.stripe ?? {};
  }
}

/** The context of one order's action: the order as recorded, its steps, the shared clients. */
export function actionContext(
  deps: WriterDeps,
  order: { orderId: string; subscriptionId: string; source: string; order: LimioOrder },
  steps: OrderSteps,
  logger: Logger,
): ActionContext {
  return {
    stripe: deps.stripe,
    db: deps.db,
    orderId: order.orderId,
    subscriptionId: order.subscriptionId,
    source: order.source,
    order: order.order,
    step: steps.step,
    steps,
    hooks: deps.hooks,
    lookups: deps.lookups,
    logger: logger.child({ orderId: order.orderId }),
    defaultAddressType: deps.defaultAddressType,
    stripeCustomers: new Set(),
  };
}

/** Limio metadata stamped on every Stripe object the writer creates or updates (loop prevention). */
export function limioMetadata(
  ctx: Pick<ActionContext, "orderId" | "subscriptionId" | "source">,
): Record<string, string> {
  return { limio_order_id: ctx.orderId, limio_subscription_id: ctx.subscriptionId, limio_source: ctx.source };
}

export function hookContext(ctx: ActionContext, extra: Partial<HookContext> = {}): HookContext {
  return {
    orderId: ctx.orderId,
    subscriptionId: ctx.subscriptionId,
    source: ctx.source,
    order: ctx.order,
    ...extra,
  };
}

/**
 * The catalog offer an order names: the version it names (an order and the subscription it
 * creates keep that version's prices, decision 022), else the current one. Unknown offer or
 * version → the order fails (`offer_not_found`, `offer_version_not_found`).
 */
export async function loadOffer(
  db: Db,
  ref: string | { id: string; version?: string | undefined },
): Promise<Offer> {
  const { id, version } = typeof ref === "string" ? { id: ref, version: undefined } : ref;
  const raw = await findOrderedOffer(db, { id, version });
  if (raw) return raw as Offer;
  if (version && (await findOrderedOffer(db, { id })))
    throw new OrderFailure(
      "offer_version_not_found",
      `offer '${id}' has no version '${version}' in the catalog`,
    );
  throw new OrderFailure("offer_not_found", `offer '${id}' is not in the catalog`);
}

export type LinkedSubscription = {
  id: string;
  offerId: string | null;
  /** The offer version the subscription bought or was switched to (decision 022); null if unknown. */
  offerVersion: string | null;
  stripeCustomerId: string;
  stripeSubscriptionId: string;
};

/**
 * The Limio subscription a non-`new` order targets, with its Stripe ids. Unknown → the order
 * fails (`subscription_not_found`); known but not linked yet (the sync-consumer links it from the
 * `new` outcome) → retry later.
 */
export async function linkedSubscription(ctx: ActionContext): Promise<LinkedSubscription> {
  const sub = await findSubscription(ctx.db, ctx.subscriptionId);
  if (!sub) throw new OrderFailure("subscription_not_found", `no Limio subscription ${ctx.subscriptionId}`);
  if (!sub.stripeSubscriptionId || !sub.stripeCustomerId) {
    throw new RetryableError(`Limio subscription ${ctx.subscriptionId} is not linked to Stripe yet`, {
      retryAfterMs: 1_000,
    });
  }
  ctx.stripeCustomers.add(sub.stripeCustomerId);
  return {
    id: sub.id,
    offerId: sub.offerId,
    offerVersion: sub.offerVersion,
    stripeCustomerId: sub.stripeCustomerId,
    stripeSubscriptionId: sub.stripeSubscriptionId,
  };
}

/**
 * Stripe lets an `incomplete` subscription (its first invoice not paid yet) have "only metadata
 * and default_source updated" (OpenAPI components.schemas.subscription.properties.status): an
 * order that would change more fails by name before any write, `subscription_incomplete`. The
 * shop finishes the first payment (decision 018), or the subscription expires after 23 hours.
 */
export function refuseIncomplete(
  subscription: Pick<Stripe.Subscription, "id" | "status">,
  ids: StripeIds,
  change: string,
): void {
  if (subscription.status !== "incomplete") return;
  throw new OrderFailure(
    "subscription_incomplete",
    `subscription ${subscription.id} is incomplete (its first invoice is not paid): Stripe does not let ${change} change until it is paid`,
    { stripe: ids },
  );
}
