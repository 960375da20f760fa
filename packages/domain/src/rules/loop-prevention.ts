import type { StripeEventLike } from "../stripe/types.ts";

/**
 * Was this Stripe event caused by the bridge applying a Limio order? Such events are not synced
 * back from webhooks: the writer requests a sync after every order it applies (Limio: "exclude
 * orders where the source is shop or salesforce", or the sync loops).
 *
 * The only deciding signal is the request's idempotency key: every Stripe write the writer makes
 * carries `limio:<order id>:<step>`, and nobody else uses that prefix. The `limio_source`
 * metadata the writer also stamps is NOT enough: the shop confirming the first payment in the
 * browser, a Dashboard edit, or Stripe's own renewals and dunning all raise events on objects
 * that carry it, and those changes must reach Limio (decision 005).
 */

export const BRIDGE_IDEMPOTENCY_PREFIX = "limio:";

export type LoopPreventionOptions = { idempotencyPrefix?: string };
export type LoopCheck = { limioInitiated: boolean; reasons: string[] };

function metadataSource(object: Record<string, unknown>): { where: string; source: string } | undefined {
  const own = (object.metadata as Record<string, unknown> | null | undefined)?.limio_source;
  if (typeof own === "string") return { where: "metadata.limio_source", source: own };
  // Invoices snapshot their subscription's metadata here.
  const parent = object.parent as {
    subscription_details?: { metadata?: Record<string, unknown> | null } | null;
  } | null;
  const inherited = parent?.subscription_details?.metadata?.limio_source;
  if (typeof inherited === "string")
    return { where: "parent.subscription_details.metadata.limio_source", source: inherited };
  return undefined;
}

export function isLimioInitiated(
  event: Pick<StripeEventLike, "data" | "request">,
  options: LoopPreventionOptions = {},
): LoopCheck {
  const prefix = options.idempotencyPrefix ?? BRIDGE_IDEMPOTENCY_PREFIX;
  const key = event.request?.idempotency_key;
  const meta = metadataSource(event.data.object);
  if (typeof key === "string" && key.startsWith(prefix)) {
    return { limioInitiated: true, reasons: [`request.idempotency_key starts with '${prefix}'`] };
  }
  const origin =
    event.request == null
      ? "the event carries no request"
      : event.request.id === null
        ? "Stripe raised it itself (renewal, dunning, schedule)"
        : "an API request that is not the bridge's (shop checkout, Dashboard, another integration)";
  const reasons = [`no '${prefix}' idempotency key: ${origin}`];
  if (meta)
    reasons.push(`${meta.where} '${meta.source}' noted; the object came from Limio, this change did not`);
  return { limioInitiated: false, reasons };
}
