import { freePort } from "@bridge/local-infra";
import { ensureTopics, topicWithCompanions } from "@bridge/messaging";
import { freshDatabase, kafkaBrokers, startEmulator } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finalOrder, type Harness, hex, newOrder, poll, spawnWriter, startHarness } from "../test/harness.ts";
import { writerTopics } from "./wiring.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_main") });
});
afterAll(async () => {
  await h?.stop();
});

describe("main.ts as a process", () => {
  it("is ready (database + Kafka), applies an order, exposes metrics and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const child = await spawnWriter(h.env({ OPS_PORT: String(port) }));
    try {
      const ready = await poll(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return res?.status === 200
            ? ((await res.json()) as { checks: Record<string, boolean> })
            : undefined;
        },
        { timeoutMs: 30_000, what: "readyz" },
      );
      expect(ready.checks).toEqual({ database: true, kafka: true });
      const { orderId } = await h.publishOrder(
        newOrder({
          email: `main+${hex(6)}@example.com`,
          payment: { type: "stripe", paymentMethodId: await h.card() },
        }),
      );
      expect((await h.waitForOutcome(orderId)).status).toBe("applied");
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/stripe_writer_orders_total\{order_type="new",status="applied"[^}]*\} 1/);
      expect(metrics).toMatch(
        /stripe_requests_total\{method="POST",route="\/v1\/subscriptions",status="200"[^}]*\} 1/,
      );
    } finally {
      await child.stop();
    }
    expect((await child.exited).code).toBe(0);
  }, 60_000);

  it("refuses to boot on a bad environment, naming the variable but never the secret", async () => {
    const child = await spawnWriter(h.env({ STRIPE_SECRET_KEY: "pk_test_leaky_value", KAFKA_BROKERS: "" }));
    const exit = await child.exited;
    expect(exit.code).not.toBe(0);
    expect(child.output()).toContain("STRIPE_SECRET_KEY");
    expect(child.output()).toContain("KAFKA_BROKERS");
    expect(child.output()).not.toContain("pk_test_leaky_value");
  });

  it("exits 1 on a fatal Stripe error (key refused) without committing the order; a restart applies it", async () => {
    const refusing = await startEmulator({ rateLimitPerSecond: 0, apiKeys: ["sk_test_someone_else"] });
    const prefix = `t${hex(10)}.`;
    const topics = writerTopics(prefix);
    await ensureTopics(
      h.kafka,
      Object.values(topics).flatMap((t) => topicWithCompanions(t, { partitions: 3 })),
    );
    const orderId = `order-${hex()}`;
    const subscriptionId = `sub-${hex()}`;
    // Paid with a card: an order without one waits for the customer (decision 018).
    const order = newOrder({
      email: `fatal+${hex(6)}@example.com`,
      payment: { type: "stripe", paymentMethodId: "pm_card_visa" },
    });
    await h.producer.publish(topics.orders, {
      key: subscriptionId,
      envelope: {
        id: orderId,
        type: "limio.order.submitted",
        version: 1,
        occurredAt: new Date().toISOString(),
        source: "test",
        correlationId: orderId,
        data: {
          orderId,
          subscriptionId,
          order: { ...order, id: orderId, subscriptionId },
          receivedAt: new Date().toISOString(),
          source: "shop",
        },
      },
    });
    const env = { KAFKA_TOPIC_PREFIX: prefix, KAFKA_GROUP_ID: `fatal-${hex(6)}` };
    try {
      const dying = await spawnWriter(h.env({ ...env, STRIPE_API_URL: refusing.url }));
      const exit = await Promise.race([
        dying.exited,
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 40_000)),
      ]);
      if (exit === "timeout") await dying.stop();
      expect(exit).toMatchObject({ code: 1 });
      expect(dying.output()).not.toContain("sk_test_writer");
    } finally {
      await refusing.stop();
    }
    const healthy = await spawnWriter(h.env(env));
    try {
      expect((await finalOrder(h.store, orderId, 40_000)).status).toBe("applied");
    } finally {
      await healthy.stop();
    }
  }, 90_000);
});
