// The operator console in a real browser: Debian's Chromium driven by playwright-core, against the
// gateway, writer and sync-consumer (in-process) on this run's Kafka and Postgres and the Stripe
// emulator. An operator logs in, finds a failed order and its reason, opens a subscription and
// sees Limio beside Stripe, resyncs it during a Stripe outage (the sync dead-letters), then
// re-drives the dead-lettered message once Stripe is back and sees it applied.
//
// Chromium: scripts/ensure-chromium.sh installs it. Screenshots for docs/console.md are written
// only when CONSOLE_SCREENSHOTS names a folder (`CONSOLE_SCREENSHOTS=docs/img`).
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { freePorts } from "@bridge/local-infra";
import { freshDatabase, kafkaBrokers, until } from "@bridge/local-infra/testing";
import { topics as bridgeTopics, createKafkaClient } from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore, type Store } from "@bridge/store";
import { createStripeClient, type Stripe } from "@bridge/stripe-client";
import { type RunningEmulator, startEmulator } from "@bridge/stripe-emulator";
import pino from "pino";
import { type Browser, chromium, type Page } from "playwright-core";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig as loadGatewayConfig } from "../../apps/ingest-gateway/src/config.ts";
import { startGateway } from "../../apps/ingest-gateway/src/server.ts";
import { loadConfig as loadWriterConfig } from "../../apps/stripe-writer/src/config.ts";
import { startWriterService, type WriterService } from "../../apps/stripe-writer/src/wiring.ts";
import { type RunningSyncConsumer, startSyncConsumer } from "../../apps/sync-consumer/src/wiring.ts";
import { newOrderBody, shopCard } from "../../scripts/lib/shop.ts";
import { loadDemoCatalog } from "../support/orders.ts";

const CHROMIUM = "/usr/bin/chromium";
const shopKey = `shop-key-${randomUUID()}`;
const operatorKey = `operator-key-${randomUUID()}`;
const webhookSecret = "whsec_console_test_only";
const screenshots = process.env.CONSOLE_SCREENSHOTS;

type Stack = {
  url: string;
  store: Store;
  stripe: Stripe;
  emulator: RunningEmulator;
  gatewayLog: string[];
  stop(): Promise<void>;
};

/** Gateway, writer and sync-consumer on this file's own topics, group ids and database. */
async function startStack(): Promise<Stack> {
  const databaseUrl = await freshDatabase("console");
  await loadDemoCatalog(databaseUrl);
  const prefix = `console-${randomUUID().slice(0, 8)}.`;
  const groups = { writer: `${prefix}stripe-writer`, sync: `${prefix}sync-consumer` };
  const brokers = kafkaBrokers().join(",");
  const [port] = (await freePorts(1)) as [number];
  const url = `http://127.0.0.1:${port}`;
  const emulator = await startEmulator({
    rateLimitPerSecond: 0,
    webhook: { url: `${url}/webhooks/stripe`, secret: webhookSecret },
    webhookDelivery: { maxAttempts: 5, backoffMs: 50 },
  });
  const stripeEnv = { STRIPE_SECRET_KEY: "sk_live_emulator_only_console", STRIPE_API_URL: emulator.url };
  const quiet = createLogger("console-test", { level: process.env.TEST_LOG_LEVEL ?? "silent" });

  const writer: WriterService = await startWriterService(
    loadWriterConfig({
      ...stripeEnv,
      KAFKA_BROKERS: brokers,
      DATABASE_URL: databaseUrl,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: groups.writer,
      STRIPE_RATE_LIMIT_PER_SECOND: "500",
      // A live-looking key needs the key that seals waiting orders' secrets (decision 018).
      ORDER_SECRET_KEY: randomBytes(32).toString("base64"),
      LOG_LEVEL: "silent",
    }),
    { logger: quiet },
  );
  // Every topic under this run's prefix (the writer has no sync topic: the gateway and the sync share it).
  const topics = { ...writer.topics, sync: `${prefix}${bridgeTopics.sync}` };

  // The gateway's log lines, kept to check that no API key is ever written to them.
  const gatewayLog: string[] = [];
  const gatewayLogger = pino({ level: "info" }, { write: (line: string) => gatewayLog.push(line) });
  const gateway = await startGateway(
    loadGatewayConfig({
      PORT: String(port),
      HOST: "127.0.0.1",
      KAFKA_BROKERS: brokers,
      DATABASE_URL: databaseUrl,
      API_KEYS: `shop:${shopKey}:orders+read,operator:${operatorKey}:ops`,
      STRIPE_WEBHOOK_SECRETS: webhookSecret,
      WRITER_GROUP_ID: groups.writer,
      SYNC_GROUP_ID: groups.sync,
    }),
    { logger: gatewayLogger, topics },
  );

  // Stripe calls fail at once (no SDK retries) and a failed sync is retried only in place (for
  // about 5 s, enough for an order's sync request that overtook its outcome): an outage
  // dead-letters a sync within seconds instead of after the retry topic's minutes.
  const syncStore = createStore(databaseUrl, { poolSize: 4 });
  const registry = new Registry();
  const { stripe: syncStripe } = createStripeClient({
    secretKey: stripeEnv.STRIPE_SECRET_KEY,
    apiUrl: emulator.url,
    ratePerSecond: 500,
    maxNetworkRetries: 0,
    registry,
  });
  const sync: RunningSyncConsumer = await startSyncConsumer({
    kafka: createKafkaClient({ brokers: kafkaBrokers(), clientId: "console-test-sync", logger: quiet }),
    store: syncStore,
    stripe: syncStripe,
    logger: quiet,
    registry,
    groupId: groups.sync,
    topics,
    retry: { attempts: 8, baseDelayMs: 200, maxDelayMs: 1_000, retryTopic: false },
  });

  const store = createStore(databaseUrl, { poolSize: 2 });
  const { stripe } = createStripeClient({
    secretKey: "sk_test_console_shop",
    apiUrl: emulator.url,
    ratePerSecond: 500,
  });
  return {
    url,
    store,
    stripe,
    emulator,
    gatewayLog,
    async stop() {
      await gateway.shutdown();
      await sync.stop();
      await writer.stop();
      await emulator.stop();
      await syncStore.close();
      await store.close();
    },
  };
}

async function placeOrder(stack: Stack, token: string) {
  const email = `console.${token}.${randomUUID().slice(0, 6)}@example.com`;
  const response = await fetch(`${stack.url}/api/orders`, {
    method: "POST",
    headers: { authorization: `Bearer ${shopKey}`, "content-type": "application/json" },
    body: JSON.stringify(newOrderBody(email, await shopCard(stack.stripe, token))),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  const { id, subscriptionId } = (await response.json()) as { id: string; subscriptionId: string };
  return { orderId: id, subscriptionId };
}

let stack: Stack;
let browser: Browser;
let page: Page;
const visitedUrls: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh`);
  stack = await startStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("request", (request) => visitedUrls.push(request.url()));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

async function snap(name: string) {
  if (screenshots)
    await page.screenshot({ path: path.join(screenshots, `console-${name}.png`), fullPage: false });
}

describe("the operator console in Chromium", () => {
  let failed: { orderId: string; subscriptionId: string };
  let applied: { orderId: string; subscriptionId: string };

  it("logs in with an ops key and finds a failed order with its reason and timeline", async () => {
    applied = await placeOrder(stack, "tok_visa");
    failed = await placeOrder(stack, "tok_chargeDeclined");
    await until(
      async () => {
        const rows = await stack.store.db.order.findMany({
          where: { id: { in: [applied.orderId, failed.orderId] } },
        });
        const sub = await stack.store.db.subscription.findUnique({ where: { id: applied.subscriptionId } });
        return (
          rows.every((o) => ["applied", "failed"].includes(o.status)) && rows.length === 2 && !!sub?.stripeRaw
        );
      },
      60_000,
      "both orders final and the applied one synced",
    );

    await page.goto(`${stack.url}/console`);
    await page.getByLabel("Operator API key (ops scope)").fill(operatorKey);
    // Logged out: no navigation and no "Log out" button.
    expect(await page.getByRole("button", { name: "Log out" }).isVisible()).toBe(false);
    expect(await page.getByRole("link", { name: "Dead letters" }).isVisible()).toBe(false);
    await snap("login");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Orders" }).waitFor();
    expect(await page.getByRole("button", { name: "Log out" }).isVisible()).toBe(true);
    await expect.poll(() => page.locator("#operator").textContent()).toBe("operator: operator");
    await page.locator(`tr[data-order="${applied.orderId}"]`).waitFor();

    await page.getByLabel("Status").selectOption("failed");
    await page.getByRole("button", { name: "Filter" }).click();
    // The filtered list replaces the full one: the applied order leaves, the failed one stays.
    await page.locator(`tr[data-order="${applied.orderId}"]`).waitFor({ state: "detached" });
    const row = page.locator(`tr[data-order="${failed.orderId}"]`);
    await row.waitFor();
    expect(await page.locator("tbody tr[data-order]").count()).toBe(1);
    expect(await row.textContent()).toContain("card_declined");
    await snap("orders");

    await row.click();
    await page.getByRole("heading", { name: `Order ${failed.orderId}` }).waitFor();
    const timeline = await page.locator("ol.timeline").textContent();
    expect(timeline).toContain("new order received from shop");
    expect(timeline).toContain("Writer outcome: failed");
    expect(await page.locator("main").textContent()).toMatch(/card_declined: .*declined/i);
    await snap("order");
  }, 90_000);

  it("opens a subscription and sees Limio beside Stripe's last-synced state", async () => {
    await page.goto(`${stack.url}/console#/subscriptions/${applied.subscriptionId}`);
    await page.locator("#stripe").waitFor();
    expect(await page.locator("#limio").textContent()).toContain("Status active");
    expect(await page.locator("#stripe").textContent()).toContain("Status active");
    const sub = await stack.store.db.subscription.findUniqueOrThrow({
      where: { id: applied.subscriptionId },
    });
    expect(await page.locator("#stripe").textContent()).toContain(sub.stripeSubscriptionId!);
    const stripeColumn = await page.locator("#comparison tbody tr").first().textContent();
    expect(stripeColumn).toContain(sub.stripeSubscriptionId!);
    await snap("subscription");
  });

  it("resyncs during a Stripe outage, sees the sync dead-lettered, re-drives it and sees it applied", async () => {
    // Stripe answers every read with 500 until the outage ends.
    stack.emulator.handle.faults.configure({ rules: { "GET *": { error500: 1 } } });
    await page.getByRole("button", { name: "Resync from Stripe" }).click();
    await page.getByRole("status").waitFor();
    const requested = await stack.store.db.event.findFirstOrThrow({
      where: { subscriptionId: applied.subscriptionId, type: "console.resync_requested" },
    });
    expect(requested.changes).toEqual({ operator: "operator" });

    await page.getByRole("link", { name: "Dead letters" }).click();
    const entry = page.locator(`tr[data-message="${requested.causeId}"]`);
    await until(
      async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        await page.getByRole("heading", { name: "Dead-lettered messages" }).waitFor();
        return (await entry.count()) === 1;
      },
      60_000,
      "the resync in the DLQ",
    );
    expect(await entry.getAttribute("data-status")).toBe("waiting");
    expect(await entry.textContent()).toContain("retryable");
    expect(await entry.textContent()).toContain("limio.sync.requested");
    await snap("dlq");

    stack.emulator.handle.faults.clear();
    await entry.getByRole("button", { name: "Re-drive" }).click();
    await page.getByRole("status").waitFor();
    await until(
      async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        await page.getByRole("heading", { name: "Dead-lettered messages" }).waitFor();
        return (await entry.getAttribute("data-status")) === "applied";
      },
      60_000,
      "the re-driven sync applied",
    );
    expect(await entry.textContent()).toContain("re-driven by operator");
    await snap("dlq-applied");

    // Applied means the sync-consumer recorded the message and synced from Stripe after the outage.
    const inbox = await stack.store.db.inboxMessage.findMany({ where: { messageId: requested.causeId! } });
    expect(inbox).toHaveLength(1);
    const redriven = await stack.store.db.event.findMany({ where: { type: "console.dlq_redriven" } });
    expect(redriven).toEqual([
      expect.objectContaining({
        source: "operator",
        changes: expect.objectContaining({
          operator: "operator",
          dlqTopic: expect.stringMatching(/limio\.sync\.v1\.dlq$/),
        }),
      }),
    ]);
  }, 120_000);

  it("shows consumer lag and drift, and never puts the key in a URL or a log line", async () => {
    await page.getByRole("link", { name: "Consumer lag" }).click();
    await page.getByRole("heading", { name: "Consumer lag" }).waitFor();
    expect(await page.locator("main").textContent()).toMatch(/stripe-writer: \d+ message\(s\) behind/);
    await snap("lag");
    await page.getByRole("link", { name: "Drift" }).click();
    await page.getByText("Reconcile runs are not recorded").waitFor();

    expect(visitedUrls.length).toBeGreaterThan(5);
    expect(visitedUrls.filter((u) => u.includes(operatorKey))).toEqual([]);
    expect(stack.gatewayLog.join("\n")).toContain("console login");
    expect(stack.gatewayLog.filter((line) => line.includes(operatorKey) || line.includes(shopKey))).toEqual(
      [],
    );
  });
});
