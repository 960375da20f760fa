import type { Route } from "../context.ts";
import { couponRoutes } from "./coupons.ts";
import { customerRoutes } from "./customers.ts";
import { eventRoutes } from "./events.ts";
import { invoicePaymentRoutes } from "./invoice_payments.ts";
import { invoiceRoutes } from "./invoices.ts";
import { paymentIntentRoutes } from "./payment_intents.ts";
import { paymentMethodRoutes } from "./payment_methods.ts";
import { priceRoutes } from "./prices.ts";
import { productRoutes } from "./products.ts";
import { setupIntentRoutes } from "./setup_intents.ts";
import { subscriptionScheduleRoutes } from "./subscription_schedules.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { testClockRoutes } from "./test_clocks.ts";
import { webhookEndpointRoutes } from "./webhook_endpoints.ts";

/** Every Stripe resource the emulator serves, by resource name. */
export const resources: Record<string, Route[]> = {
  customers: customerRoutes,
  products: productRoutes,
  prices: priceRoutes,
  coupons: couponRoutes,
  payment_methods: paymentMethodRoutes,
  setup_intents: setupIntentRoutes,
  payment_intents: paymentIntentRoutes,
  subscriptions: subscriptionRoutes,
  subscription_schedules: subscriptionScheduleRoutes,
  invoices: invoiceRoutes,
  invoice_payments: invoicePaymentRoutes,
  events: eventRoutes,
  webhook_endpoints: webhookEndpointRoutes,
  test_clocks: testClockRoutes,
};
