import { API_VERSION } from "../http/version.ts";
import type { State } from "../state.ts";
import { isJsonObject, type JsonObject } from "../types.ts";

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
export function eventForVersion(state: State, event: JsonObject, version: string | null): JsonObject {
  if (!version || version === API_VERSION) return event;
  const copy = structuredClone(event);
  copy.api_version = version;
  if (isJsonObject(copy.data) && isJsonObject(copy.data.object))
    copy.data.object = toAcacia(state, copy.data.object);
  return copy;
}

function toAcacia(state: State, obj: JsonObject): JsonObject {
  if (obj.object === "invoice") {
    const { parent, ...rest } = obj;
    const stored = typeof obj.id === "string" ? state.get("invoice", obj.id) : undefined;
    const details =
      isJsonObject(parent) && isJsonObject(parent.subscription_details)
        ? parent.subscription_details
        : undefined;
    return {
      ...rest,
      subscription: details?.subscription ?? null,
      subscription_details: { metadata: details?.metadata ?? null },
      payment_intent: stored?._payment_intent ?? null,
    };
  }
  if (obj.object === "subscription") {
    const item = isJsonObject(obj.items) && Array.isArray(obj.items.data) ? obj.items.data[0] : undefined;
    const first = isJsonObject(item) ? item : undefined;
    return {
      ...obj,
      current_period_start: first?.current_period_start ?? null,
      current_period_end: first?.current_period_end ?? null,
    };
  }
  return obj;
}
