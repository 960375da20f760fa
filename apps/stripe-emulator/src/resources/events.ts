import type Stripe from "stripe";
import { paramsOf, type Route } from "../context.ts";
import { noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { arr, str } from "../http/params.ts";

function typeMatches(pattern: string, type: string): boolean {
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  if (pattern === "*") return true;
  return pattern === type;
}

export const eventRoutes: Route[] = [
  {
    method: "GET",
    path: "/v1/events/:id",
    handler: (call) => {
      const event = call.emu.state.get("event", call.params.id!);
      if (!event) throw noSuch("event", call.params.id!);
      return event;
    },
  },
  {
    method: "GET",
    path: "/v1/events",
    handler: (call) => {
      const b = paramsOf<Stripe.EventListParams>(call);
      const type = str(b.type, "type");
      const types = b.types === undefined ? undefined : arr(b.types).map(String);
      const created = b.created;
      const rows = call.emu.state.all("event").filter((e) => {
        if (type && !typeMatches(type, e.type)) return false;
        if (types && !types.some((t) => typeMatches(t, e.type))) return false;
        if (created && typeof created === "object") {
          if (created.gte && e.created < Number(created.gte)) return false;
          if (created.gt && e.created <= Number(created.gt)) return false;
          if (created.lte && e.created > Number(created.lte)) return false;
          if (created.lt && e.created >= Number(created.lt)) return false;
        }
        return true;
      });
      return paginate(rows, b, "/v1/events", (o) => call.emu.state.render(o));
    },
  },
];
