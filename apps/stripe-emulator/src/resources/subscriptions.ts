import type Stripe from "stripe";
import { itemsOf } from "../billing/items.ts";
import { cancelSubscriptionNow } from "../billing/renewal.ts";
import { paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { requireStr, str } from "../http/params.ts";
import { createSubscription } from "./subscription-create.ts";
import { getSubscription, mergeCancellationDetails } from "./subscription-plan.ts";
import { updateSubscription } from "./subscription-update.ts";

export const subscriptionRoutes: Route[] = [
  { method: "POST", path: "/v1/subscriptions", handler: createSubscription },
  { method: "GET", path: "/v1/subscriptions/:id", handler: (call) => getSubscription(call, call.params.id!) },
  { method: "POST", path: "/v1/subscriptions/:id", handler: updateSubscription },
  {
    method: "DELETE",
    path: "/v1/subscriptions/:id",
    handler: (call) => {
      const sub = getSubscription(call, call.params.id!);
      if (sub.status === "canceled") {
        throw invalid(`No such subscription: '${sub.id}'`, "id", "resource_missing");
      }
      const b = paramsOf<Stripe.SubscriptionCancelParams>(call);
      if (b.cancellation_details) {
        sub.cancellation_details = mergeCancellationDetails(sub.cancellation_details, b.cancellation_details);
      }
      const now = nowFor(call.emu, sub.test_clock);
      sub.canceled_at = now;
      cancelSubscriptionNow(call.emu, sub, now, call.request, "cancellation_requested");
      return sub;
    },
  },
  {
    method: "GET",
    path: "/v1/subscriptions",
    handler: (call) => {
      const b = paramsOf<Stripe.SubscriptionListParams>(call);
      const customer = str(b.customer, "customer");
      const status = str(b.status, "status");
      const price = str(b.price, "price");
      const clock = str(b.test_clock, "test_clock");
      const rows = call.emu.state.all("subscription").filter((s) => {
        if (customer && s.customer !== customer) return false;
        if (clock && s.test_clock !== clock) return false;
        if (status && status !== "all" && s.status !== status) return false;
        if (!status && (s.status === "canceled" || s.status === "incomplete_expired")) return false;
        if (price && !itemsOf(call.emu, s.id).some((i) => i.price.id === price)) return false;
        return true;
      });
      return paginate(rows, b, "/v1/subscriptions", (o) => call.emu.state.render(o));
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_items",
    handler: (call) => {
      const b = paramsOf<Stripe.SubscriptionItemListParams>(call);
      const subId = requireStr(b.subscription, "subscription");
      const rows = itemsOf(call.emu, subId).reverse();
      return paginate(rows, b, `/v1/subscription_items?subscription=${subId}`, (o) =>
        call.emu.state.render(o),
      );
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_items/:id",
    handler: (call) => {
      const item = call.emu.state.get("subscription_item", call.params.id!);
      if (!item) throw noSuch("subscription_item", call.params.id!);
      return item;
    },
  },
];
