import type { EmitOptions, Emulator } from "../context.ts";
import { stripIncludable } from "../http/expand.ts";
import { API_VERSION } from "../http/version.ts";
import type { Stored } from "../state.ts";
import type { JsonObject } from "../types.ts";
import { eventForVersion } from "./versions.ts";
import { endpointWants } from "./webhooks.ts";

/** Top-level keys whose value changed, with their previous values (Stripe's `previous_attributes`). */
function previousAttributes(before: JsonObject, after: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(before)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) out[key] = before[key];
  }
  return out;
}

/** Time "now" for an object: its test clock's frozen time, else the wall clock. */
export function nowFor(emu: Emulator, clockId: string | null | undefined): number {
  if (clockId) {
    const clock = emu.state.get("test_helpers.test_clock", clockId);
    if (clock) return clock.frozen_time;
  }
  return Math.floor(Date.now() / 1000);
}

export function createEvent(
  emu: Emulator,
  type: string,
  obj: object,
  options: EmitOptions = {},
): Stored<"event"> {
  const { state } = emu;
  const rendered = state.render(obj);
  stripIncludable(rendered);
  const data: Stored<"event">["data"] = { object: rendered };
  if (options.previous) {
    stripIncludable(options.previous);
    const prev = previousAttributes(options.previous, rendered);
    data.previous_attributes = prev;
  }
  // The clock of the object itself, or the one a payment object is kept on (internal `_test_clock`).
  const clockId = "test_clock" in obj ? obj.test_clock : "_test_clock" in obj ? obj._test_clock : null;
  const endpoints = state.values("webhook_endpoint").filter((e) => endpointWants(e, type));
  const event: Stored<"event"> = {
    id: state.newId("evt"),
    object: "event",
    api_version: API_VERSION,
    created: nowFor(emu, typeof clockId === "string" ? clockId : null),
    data,
    livemode: false,
    pending_webhooks: endpoints.length,
    request: options.request ?? { id: null, idempotency_key: null },
    type,
  };
  state.insert("event", event);
  // The payload is the event without its internal `_seq`; `data` is already rendered (a copy).
  const { _seq, ...payload } = event;
  for (const endpoint of endpoints) {
    emu.webhooks.enqueue(endpoint, eventForVersion(state, payload, endpoint.api_version));
  }
  return event;
}
