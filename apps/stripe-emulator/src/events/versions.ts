import { API_VERSION } from "../http/version.ts";
import type { State } from "../state.ts";
import type { StripeObject } from "../types.ts";

/**
 * Webhook payloads are rendered in the endpoint's `api_version` when it has one
 * (docs.stripe.com/webhooks/versioning). The emulator knows two shapes: the version it is built
 * for, and the last version before 2025-03-31.basil, whose breaking changes it reproduces:
 * - invoices carry `subscription`, `subscription_details` and `payment_intent` (basil moved them
 *   to `parent.subscription_details` and invoice payments: docs.stripe.com/changelog/basil/2025-03-31/…);
 * - subscriptions carry `current_period_start` / `current_period_end` (basil moved them to items).
 * Any other version is refused when an endpoint is created, rather than rendered wrongly.
 */
const ACACIA = "2025-02-24.acacia";
export const RENDERABLE_VERSIONS: readonly string[] = [API_VERSION, ACACIA];

/** The event as an endpoint pinned to `version` receives it. */
export function eventForVersion(state: State, event: StripeObject, version: string | null): StripeObject {
  if (!version || version === API_VERSION) return event;
  const copy = structuredClone(event);
  copy.api_version = version;
  copy.data.object = toAcacia(state, copy.data.object);
  return copy;
}

function toAcacia(state: State, obj: StripeObject): StripeObject {
  if (obj.object === "invoice") {
    const { parent, ...rest } = obj;
    const stored = state.get("invoice", obj.id);
    return {
      ...rest,
      subscription: parent?.subscription_details?.subscription ?? null,
      subscription_details: { metadata: parent?.subscription_details?.metadata ?? null },
      payment_intent: stored?._payment_intent ?? null,
    };
  }
  if (obj.object === "subscription") {
    const item = obj.items?.data?.[0];
    return {
      ...obj,
      current_period_start: item?.current_period_start ?? null,
      current_period_end: item?.current_period_end ?? null,
    };
  }
  return obj;
}
