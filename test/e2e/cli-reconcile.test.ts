// `bridge reconcile` finds drift introduced behind the bridge's back; `bridge resync` repairs it,
// through Kafka and a real sync-consumer, against the Stripe emulator.

import { runCli } from "@bridge/bridge-cli";
import { bridgeTopicSpecs, createKafkaClient, ensureTopics } from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore, createSubscription, ensureCustomer, type Store } from "@bridge/store";
import { createStripeClient } from "@bridge/stripe-client";
import { type RunningSyncConsumer, startSyncConsumer } from "@bridge/sync-consumer";
import {
  freshDatabase,
  kafkaBrokers,
  type RunningEmulator,
  startEmulator,
  uniqueName,
} from "@bridge/testkit";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const logger = createLogger("cli-reconcile-test", { level: "error" });
let emulator: RunningEmulator;
let store: Store;
let sync: RunningSyncConsumer;
let env: Record<string, string>;

beforeAll(async () => {
  emulator = await startEmulator({ rateLimitPerSecond: 1000 });
  const databaseUrl = await freshDatabase("cli-reconcile");
  store = createStore(databaseUrl);
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: "cli-reconcile", logger });
  await ensureTopics(kafka, bridgeTopicSpecs({ partitions: 6 }));
  const { stripe } = createStripeClient({ secretKey: "sk_test_cli", apiUrl: emulator.url });
  sync = await startSyncConsumer({
    kafka,
    store,
    stripe,
    logger,
    registry: new Registry(),
    groupId: uniqueName("cli-sync"),
  });
  env = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    DATABASE_URL: databaseUrl,
    STRIPE_SECRET_KEY: "sk_test_cli",
    STRIPE_API_URL: emulator.url,
    LOG_LEVEL: "error",
  };
});
afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await emulator?.stop();
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const code = await runCli(argv, env, { out: (line) => out.push(line), err: (line) => out.push(line) });
  return { code, out: out.join("\n") };
}

describe("bridge reconcile and resync", () => {
  it("reports drift after the store is edited behind the bridge's back, and resync repairs it", async () => {
    const { stripe } = createStripeClient({ secretKey: "sk_test_cli", apiUrl: emulator.url });
    const customer = await stripe.customers.create({ email: "drift@example.com" });
    const card = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: card.id } });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [
        {
          price_data: {
            currency: "gbp",
            unit_amount: 999,
            recurring: { interval: "month" },
            product: (await stripe.products.create({ name: "Digital" })).id,
          },
        },
      ],
    });
    const id = "sub-d0000000000000000000000000000001";
    await ensureCustomer(store.db, {
      id: "cus-d0000000000000000000000000000001",
      email: "drift@example.com",
    });
    await createSubscription(store.db, {
      id,
      reference: "DRIFTAAAAAAA",
      customerId: "cus-d0000000000000000000000000000001",
      status: "pending",
      source: "shop",
      stripeCustomerId: customer.id,
      stripeSubscriptionId: subscription.id,
    });
    expect((await cli("resync", id)).code).toBe(0);
    expect(await cli("reconcile")).toMatchObject({
      code: 0,
      out: expect.stringContaining("checked 1, drift in 0"),
    });

    // Behind the bridge's back: someone marks the subscription cancelled in the Limio store.
    await store.db.subscription.update({ where: { id }, data: { status: "cancelled" } });
    const drift = await cli("reconcile");
    expect(drift.code).toBe(1);
    expect(drift.out).toContain(`${id}: drift`);
    expect(drift.out).toContain('subscription.status_changed\n    status: "cancelled" → "active"');

    expect((await cli("resync", id)).code).toBe(0);
    expect(await cli("reconcile", id)).toMatchObject({ code: 0, out: expect.stringContaining("drift in 0") });
    expect((await store.db.subscription.findUnique({ where: { id } }))?.status).toBe("active");
  });

  it("imports a subscription created directly in Stripe as external, once", async () => {
    const { stripe } = createStripeClient({ secretKey: "sk_test_cli", apiUrl: emulator.url });
    const customer = await stripe.customers.create({ email: "external@example.com", name: "Ext Ernal" });
    const card = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: card.id } });
    const product = await stripe.products.create({ name: "Print" });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [
        {
          price_data: {
            currency: "gbp",
            unit_amount: 1500,
            recurring: { interval: "month" },
            product: product.id,
          },
        },
      ],
    });
    const first = await cli("import", subscription.id);
    expect(first.code).toBe(0);
    expect(first.out).toContain("external");
    const row = await store.db.subscription.findUnique({ where: { stripeSubscriptionId: subscription.id } });
    expect(row).toMatchObject({ origin: "external", offerId: null, status: "active", source: "stripe" });
    const again = await cli("import", subscription.id);
    expect(again.out).toContain(`already linked to ${row?.id}`);
    expect((await cli("import", "cus_nope")).code).toBe(2);
  });
});
