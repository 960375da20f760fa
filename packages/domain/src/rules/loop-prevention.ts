import type { StripeEventLike } from "../stripe/types.ts";

/**
 * Was this Stripe event caused by the bridge acting on a Limio order? Such events must not be
 * synced back as if Stripe had changed on its own (Limio: "exclude orders where the source is
 * shop or salesforce"). The writer stamps `limio_source` metadata and `limio:` idempotency keys.
 */

export const DEFAULT_LIMIO_SOURCES: readonly string[] = ["shop", "salesforce", "limio", "bridge"];
export const BRIDGE_IDEMPOTENCY_PREFIX = "limio:";

export type LoopPreventionOptions = { limioSources?: readonly string[]; idempotencyPrefix?: string };
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

/**
 * Limio-initiated when the request's idempotency key carries the bridge prefix, or when the
 * object's metadata names a Limio source AND the event came from an API request. Events Stripe
 * raises on its own (`request.id` null: renewals, dunning, end-of-term cancellation) are never
 * Limio-initiated, even on an object the bridge created, or renewals would never sync.
 */
export function isLimioInitiated(
  event: Pick<StripeEventLike, "data" | "request">,
  options: LoopPreventionOptions = {},
): LoopCheck {
  const sources = options.limioSources ?? DEFAULT_LIMIO_SOURCES;
  const prefix = options.idempotencyPrefix ?? BRIDGE_IDEMPOTENCY_PREFIX;
  const reasons: string[] = [];

  const key = event.request?.idempotency_key;
  const keyMatches = typeof key === "string" && key.startsWith(prefix);
  if (keyMatches) {
    reasons.push(`request.idempotency_key starts with '${prefix}'`);
  }

  const meta = metadataSource(event.data.object);
  const automatic = event.request != null && event.request.id === null;
  if (meta) {
    if (!sources.includes(meta.source)) {
      reasons.push(`${meta.where} '${meta.source}' is not a Limio source`);
    } else if (automatic) {
      reasons.push(
        `${meta.where} '${meta.source}' ignored: Stripe raised this event itself (request.id null)`,
      );
    } else {
      reasons.push(`${meta.where} '${meta.source}' is a Limio source`);
      return { limioInitiated: true, reasons };
    }
  }
  if (reasons.length === 0) reasons.push("no Limio metadata or idempotency key");
  return { limioInitiated: keyMatches, reasons };
}
