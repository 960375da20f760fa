import { z } from "zod";
import { envelopeSchema } from "./envelope.ts";
import { limioOrderId, limioSubscriptionId } from "./ids.ts";

/**
 * limio.subscription-changes.v1 — the sync (from its outbox) → whoever follows Limio
 * subscriptions (docs/decisions/017). One envelope per change the sync applies to a Limio
 * subscription, keyed by the subscription id; `sequence` counts 1, 2, 3… per subscription, so a
 * consumer applies an envelope only when its sequence is the next one and drops ids it has seen
 * (delivery is at-least-once; a re-published change keeps its envelope id).
 */
export const subscriptionChangedType = "limio.subscription.changed" as const;

/** What changed, and the audit Event type that records the same change in the store. */
export const subscriptionChangeKinds = {
  created: "subscription.created",
  imported: "subscription.imported",
  status: "subscription.status_changed",
  term: "subscription.term_changed",
  offer: "subscription.offer_changed",
  stripe_link: "subscription.stripe_link_changed",
  payment_schedules: "subscription.payment_schedules_changed",
  payment_method: "subscription.payment_method_changed",
} as const;
export type SubscriptionChangeKind = keyof typeof subscriptionChangeKinds;

const kinds = Object.keys(subscriptionChangeKinds) as [SubscriptionChangeKind, ...SubscriptionChangeKind[]];

/** The change kind an audit Event type records; undefined for audit events that are not one. */
export function changeKindOfAuditType(type: string): SubscriptionChangeKind | undefined {
  return kinds.find((k) => subscriptionChangeKinds[k] === type);
}

export const subscriptionChangedV1 = z.object({
  subscriptionId: limioSubscriptionId,
  sequence: z.number().int().positive(),
  kind: z.enum(kinds),
  /** Changed fields only: their values before and after (null = absent). */
  before: z.record(z.string(), z.unknown()),
  after: z.record(z.string(), z.unknown()),
  cause: z.object({
    /** Who applied it: `stripe` (a webhook), `order`, `api`, `operator`, or the order's source. */
    source: z.string().min(1),
    /** The message (or Stripe event, or operator run) that caused it. */
    messageId: z.string().min(1).optional(),
    stripeEventId: z.string().startsWith("evt_").optional(),
    orderId: limioOrderId.optional(),
    operator: z.string().min(1).optional(),
  }),
  /** The audit Event recording the same change (the store's `Event.id`). */
  auditEventId: z.string().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
});
export type SubscriptionChangedV1 = z.output<typeof subscriptionChangedV1>;

export const subscriptionChangedEnvelope = envelopeSchema.extend({
  type: z.literal(subscriptionChangedType),
  version: z.literal(1),
  data: subscriptionChangedV1,
});

/** `{ field: { from, to } }` (the audit Event's shape) → the envelope's before / after. */
export function beforeAfter(changes: Record<string, unknown>): {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
} {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const [field, change] of Object.entries(changes)) {
    if (change !== null && typeof change === "object" && "from" in change && "to" in change) {
      before[field] = change.from ?? null;
      after[field] = change.to ?? null;
    } else {
      after[field] = change ?? null; // context recorded with the change (e.g. the operator)
    }
  }
  return { before, after };
}
