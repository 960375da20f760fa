import type { Call, Route } from "../context.ts";
import { RENDERABLE_VERSIONS } from "../events/versions.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { arr, bool, mergeMetadata, metadata, requireStr, str } from "../http/params.ts";
import type { State } from "../state.ts";
import type { StripeObject } from "../types.ts";

export function createWebhookEndpoint(
  state: State,
  params: {
    url: string;
    enabledEvents: string[];
    description?: string | null;
    metadata?: Record<string, string>;
    secret?: string;
    apiVersion?: string | null;
  },
): StripeObject {
  const endpoint: StripeObject = {
    id: state.newId("we"),
    object: "webhook_endpoint",
    api_version: params.apiVersion ?? null,
    application: null,
    created: Math.floor(Date.now() / 1000),
    description: params.description ?? null,
    enabled_events: params.enabledEvents,
    livemode: false,
    metadata: params.metadata ?? {},
    status: "enabled",
    url: params.url,
    _secret: params.secret ?? `whsec_${state.randomString(32)}`,
  };
  state.insert("webhook_endpoint", endpoint);
  return endpoint;
}

function getEndpoint(call: Call, id: string): StripeObject {
  const e = call.emu.state.get("webhook_endpoint", id);
  if (!e) throw noSuch("webhook_endpoint", id);
  return e;
}

function enabledEvents(raw: unknown): string[] {
  const list = arr(raw).map(String);
  if (list.length === 0)
    throw invalid("Missing required param: enabled_events.", "enabled_events", "parameter_missing");
  return list;
}

export const webhookEndpointRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/webhook_endpoints",
    handler: (call) => {
      const url = requireStr(call.body.url, "url");
      try {
        new URL(url);
      } catch {
        throw invalid("Invalid URL: " + url, "url", "url_invalid");
      }
      const apiVersion = str(call.body.api_version, "api_version") ?? null;
      if (apiVersion && !RENDERABLE_VERSIONS.includes(apiVersion)) {
        // A version Stripe knows but the emulator cannot render: refused rather than misrendered.
        throw invalid(
          `The emulator renders webhook payloads only in ${RENDERABLE_VERSIONS.join(" or ")}; got ${apiVersion}.`,
          "api_version",
        );
      }
      const endpoint = createWebhookEndpoint(call.emu.state, {
        url,
        enabledEvents: enabledEvents(call.body.enabled_events),
        description: str(call.body.description, "description") ?? null,
        metadata: metadata(call.body.metadata),
        apiVersion,
      });
      // The secret is only ever returned on creation, as with Stripe.
      return { ...call.emu.state.render(endpoint), secret: endpoint._secret };
    },
  },
  { method: "GET", path: "/v1/webhook_endpoints/:id", handler: (call) => getEndpoint(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/webhook_endpoints/:id",
    handler: (call) => {
      const e = getEndpoint(call, call.params.id!);
      if ("url" in call.body) e.url = requireStr(call.body.url, "url");
      if ("enabled_events" in call.body) e.enabled_events = enabledEvents(call.body.enabled_events);
      if ("description" in call.body) e.description = call.body.description || null;
      if ("metadata" in call.body) e.metadata = mergeMetadata(e.metadata, call.body.metadata);
      if ("disabled" in call.body) e.status = bool(call.body.disabled, "disabled") ? "disabled" : "enabled";
      return e;
    },
  },
  {
    method: "DELETE",
    path: "/v1/webhook_endpoints/:id",
    handler: (call) => {
      const e = getEndpoint(call, call.params.id!);
      call.emu.state.remove("webhook_endpoint", e.id);
      return { id: e.id, object: "webhook_endpoint", deleted: true };
    },
  },
  {
    method: "GET",
    path: "/v1/webhook_endpoints",
    handler: (call) =>
      paginate(call.emu.state.all("webhook_endpoint"), call.body, "/v1/webhook_endpoints", (o) =>
        call.emu.state.render(o),
      ),
  },
];
