import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../deps.ts";
import { loadCatalogRoute } from "./catalog/load-catalog.ts";
import { healthRoutes } from "./health.ts";
import { getOrderRoute } from "./orders/get-order.ts";
import { previewOrderRoute } from "./orders/preview-order.ts";
import { submitOrderRoute } from "./orders/submit-order.ts";
import { getSubscriptionRoute } from "./subscriptions/get-subscription.ts";
import { syncSubscriptionRoute } from "./sync/sync-subscription.ts";
import { stripeWebhookRoute } from "./webhooks/stripe-webhook.ts";

/** Every route plugin of the gateway, one handler each; app.ts registers them in this order. */
export const routes: FastifyPluginAsyncZod<{ deps: RouteDeps }>[] = [
  healthRoutes,
  submitOrderRoute,
  previewOrderRoute,
  getOrderRoute,
  syncSubscriptionRoute,
  stripeWebhookRoute,
  getSubscriptionRoute,
  loadCatalogRoute,
];
