import type { Logger } from "@bridge/observability";
import type { EmulatorConfig } from "./config.ts";
import type { WebhookDispatcher } from "./events/webhooks.ts";
import type { State, Stored } from "./state.ts";
import type { Form, JsonObject, RequestMeta } from "./types.ts";

/** `previous`: the object as rendered before the change (for `previous_attributes`). */
export type EmitOptions = { previous?: JsonObject; request?: RequestMeta };

/** Everything a resource handler or billing routine needs. */
export type Emulator = {
  state: State;
  config: EmulatorConfig;
  logger: Logger;
  webhooks: WebhookDispatcher;
  /** Record an event for `obj` (rendered now) and deliver it to matching webhook endpoints. */
  emit(type: string, obj: object, options?: EmitOptions): Stored<"event">;
};

/** One API call as a handler sees it. */
export type Call = {
  emu: Emulator;
  params: Record<string, string>;
  /** Form body (POST) or query (GET/DELETE), parsed with qs: read it through `paramsOf`. */
  body: JsonObject;
  request: RequestMeta;
  apiKey: string;
};

export type Route = {
  method: "GET" | "POST" | "DELETE";
  path: string;
  /** The object answered (a stored object or a list envelope), rendered by the pipeline. */
  handler: (call: Call) => object | Promise<object>;
};

/**
 * The call's parameters as the SDK's `*Params` type `P` declares them, in form encoding (Form).
 * Not a guess: the pipeline has refused every parameter `P` does not declare, at every depth
 * (`rejectUnknownParams`, from the SDK's types), before the handler runs.
 */
export function paramsOf<P>(call: Call): Form<P> {
  return call.body as Form<P>;
}
