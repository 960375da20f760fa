import type Stripe from "stripe";
import { type Call, paramsOf, type Route } from "../context.ts";
import { RENDERABLE_VERSIONS } from "../events/versions.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { arr, bool, mergeMetadata, metadata, requireStr, str } from "../http/params.ts";
import type { State, Stored } from "../state.ts";

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
): Stored<"webhook_endpoint"> {
  const endpoint: Stored<"webhook_endpoint"> = {
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

function getEndpoint(call: Call, id: string): Stored<"webhook_endpoint"> {
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
      const b = paramsOf<Stripe.WebhookEndpointCreateParams>(call);
      const url = requireStr(b.url, "url");
      try {
        new URL(url);
      } catch {
        throw invalid("Invalid URL: " + url, "url", "url_invalid");
      }
      const apiVersion = str(b.api_version, "api_version") ?? null;
      if (apiVersion && !RENDERABLE_VERSIONS.includes(apiVersion)) {
        // A version Stripe knows but the emulator cannot render: refused rather than misrendered.
        throw invalid(
          `The emulator renders webhook payloads only in ${RENDERABLE_VERSIONS.join(" or ")}; got ${apiVersion}.`,
          "api_version",
        );
      }
      const endpoint = createWebhookEndpoint(call.emu.state, {
        url,
        enabledEvents: enabledEvents(b.enabled_events),
        description: str(b.description, "description") ?? null,
        metadata: metadata(b.metadata),
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
      const b = paramsOf<Stripe.WebhookEndpointUpdateParams>(call);
      if ("url" in b) e.url = requireStr(b.url, "url");
      if ("enabled_events" in b) e.enabled_events = enabledEvents(b.enabled_events);
      if ("description" in b) e.description = b.description || null;
      if ("metadata" in b) e.metadata = mergeMetadata(e.metadata, b.metadata);
      if ("disabled" in b) e.status = bool(b.disabled, "disabled") ? "disabled" : "enabled";
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
