import type { MessageProducer } from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { describe, expect, it } from "vitest";
import { bearer, keys, testConfig, webhookSecrets } from "../test/support.ts";
import { buildGateway } from "./app.ts";
import { loadConfig } from "./config.ts";
import { createKeyMatcher } from "./plugins/auth.ts";

const validEnv = {
  KAFKA_BROKERS: "127.0.0.1:9092",
  DATABASE_URL: "postgresql://bridge:bridge@127.0.0.1:5432/bridge",
  API_KEYS: "shop:shop-key-0123456789abcdef:orders+read,ops:ops-key-0123456789abcdef:sync",
  STRIPE_WEBHOOK_SECRETS: "whsec_current,whsec_previous",
};

/** A producer that must never be reached by the requests of this file (all refused before publishing). */
function stubProducer(connected = true): MessageProducer & { published: number } {
  const stub = {
    published: 0,
    connect: async () => {},
    disconnect: async () => {},
    isConnected: () => connected,
    publish: async () => {
      stub.published++;
      return { topic: "t", partition: 0, offset: "0" };
    },
    publishBatch: async () => [],
    publishEncoded: async () => {
      stub.published++;
      return [];
    },
  };
  return stub;
}

async function stubGateway(
  options: { connected?: boolean; databaseUp?: () => boolean; config?: Record<string, string> } = {},
) {
  const producer = stubProducer(options.connected ?? true);
  const app = await buildGateway({
    config: testConfig(options.config),
    logger: createLogger("test", { level: "silent" }),
    producer,
    store: { db: {} as never, sql: async () => [], ping: async () => options.databaseUp?.() ?? true },
  });
  return { app, producer };
}

describe("gateway config", () => {
  it("parses API keys with scopes and several webhook secrets", () => {
    const config = loadConfig(validEnv);
    expect(config.API_KEYS).toEqual([
      { name: "shop", key: "shop-key-0123456789abcdef", scopes: ["orders", "read"] },
      { name: "ops", key: "ops-key-0123456789abcdef", scopes: ["sync"] },
    ]);
    expect(config.STRIPE_WEBHOOK_SECRETS).toEqual(["whsec_current", "whsec_previous"]);
    expect(config.PORT).toBe(8080);
  });

  it("refuses unknown scopes and short keys without echoing the key", () => {
    expect(() => loadConfig({ ...validEnv, API_KEYS: "shop:short:orders" })).toThrow(/API_KEYS/);
    expect(() => loadConfig({ ...validEnv, API_KEYS: "shop:shop-key-0123456789abcdef:admin" })).toThrow(
      /scopes/,
    );
    try {
      loadConfig({ ...validEnv, API_KEYS: "shop:short-secret-value:orders" });
    } catch (error) {
      expect((error as Error).message).not.toContain("short-secret-value");
    }
  });

  it("refuses the published example secrets unless ALLOW_EXAMPLE_SECRETS says the run is local", () => {
    const published = [
      { API_KEYS: "local:local-dev-key-change-me:orders+sync+read" },
      { STRIPE_WEBHOOK_SECRETS: "whsec_local_emulator_only" },
    ];
    for (const overrides of published) {
      expect(() => loadConfig({ ...validEnv, ...overrides })).toThrow(/published in this repository/);
      expect(() => loadConfig({ ...validEnv, ...overrides, ALLOW_EXAMPLE_SECRETS: "true" })).not.toThrow();
    }
  });

  it("keeps bodies well under Kafka's message limit and sockets open longer than any answer takes", () => {
    const config = loadConfig(validEnv);
    expect(config.BODY_LIMIT_BYTES * 2).toBeLessThanOrEqual(config.KAFKA_MAX_MESSAGE_BYTES);
    expect(config.KAFKA_MAX_MESSAGE_BYTES).toBeLessThan(1_048_588);
    expect(() => loadConfig({ ...validEnv, BODY_LIMIT_BYTES: "900000" })).toThrow(/BODY_LIMIT_BYTES/);
    expect(() => loadConfig({ ...validEnv, SOCKET_TIMEOUT_MS: "10000" })).toThrow(/SOCKET_TIMEOUT_MS/);
  });

  it("keeps a share of MAX_CONNECTIONS from API keys", () => {
    const config = loadConfig(validEnv);
    expect(config.MAX_CONNECTIONS - config.WEBHOOK_RESERVED_CONNECTIONS).toBe(960);
    expect(() => loadConfig({ ...validEnv, MAX_CONNECTIONS: "64" })).toThrow(/WEBHOOK_RESERVED_CONNECTIONS/);
  });
});

describe("gateway health", () => {
  it("answers /healthz and reports the producer and the database on /readyz (503 when either is down)", async () => {
    let databaseUp = true;
    const { app } = await stubGateway({ databaseUp: () => databaseUp });
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", checks: { kafka: true, database: true } });
    databaseUp = false;
    const notReady = await app.inject({ method: "GET", url: "/readyz" });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ checks: { database: false } });
    await app.close();

    const disconnected = await stubGateway({ connected: false });
    const noKafka = await disconnected.app.inject({ method: "GET", url: "/readyz" });
    expect(noKafka.statusCode).toBe(503);
    expect(noKafka.json()).toMatchObject({ checks: { kafka: false, database: true } });
    await disconnected.app.close();
  });
});

describe("API keys", () => {
  it("matches a key by its hash and rejects near misses", () => {
    const match = createKeyMatcher(testConfig().API_KEYS);
    expect(match(keys.shop)?.name).toBe("shop");
    expect(match(keys.ops)?.name).toBe("ops");
    expect(match(`${keys.shop}x`)).toBeUndefined();
    expect(match(keys.shop.slice(0, -1))).toBeUndefined();
    expect(match("")).toBeUndefined();
  });

  it("answers 401 without a key or with a wrong one and 403 without the scope, in the one error shape", async () => {
    const { app, producer } = await stubGateway();
    const order = {
      order_type: "cancel_subscription",
      subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
    };
    const none = await app.inject({ method: "POST", url: "/api/orders", payload: order });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.json()).toEqual({ error: { code: "unauthenticated", message: expect.any(String) } });

    const wrong = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: bearer("not-a-key-at-all-0000"),
      payload: order,
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("unauthenticated");
    expect(wrong.body).not.toContain("not-a-key-at-all");

    const scope = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: bearer(keys.ops),
      payload: order,
    });
    expect(scope.statusCode).toBe(403);
    expect(scope.json()).toEqual({
      error: { code: "forbidden", message: expect.stringContaining("orders") },
    });

    const syncWithShopKey = await app.inject({
      method: "POST",
      url: "/api/plugins/stripe/sync/subscription/sub-5c3d83c60950014c306865f0ab8c499b",
      headers: bearer(keys.shop),
    });
    expect(syncWithShopKey.statusCode).toBe(403);
    const readWithShopKey = await app.inject({
      method: "GET",
      url: "/api/subscriptions/sub-5c3d83c60950014c306865f0ab8c499b",
      headers: bearer(keys.shop),
    });
    expect(readWithShopKey.statusCode).toBe(403);
    const xApiKey = await app.inject({
      method: "GET",
      url: "/api/orders/order-00000000000000000000000000000000",
      headers: { "x-api-key": keys.ops },
    });
    expect(xApiKey.statusCode).toBe(403);
    expect(producer.published).toBe(0);
    await app.close();
  });
});

describe("error shape", () => {
  it("413 for a body over the limit, 415 for a wrong content type, 400 for bad JSON, 404 for unknown routes", async () => {
    const { app, producer } = await stubGateway({ config: { BODY_LIMIT_BYTES: "2048" } });
    const big = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: { ...bearer(keys.shop), "content-type": "application/json" },
      payload: JSON.stringify({ order_type: "new", padding: "x".repeat(4096) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toEqual({ error: { code: "payload_too_large", message: expect.any(String) } });

    const xml = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: { ...bearer(keys.shop), "content-type": "application/xml" },
      payload: "<order/>",
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe("unsupported_media_type");

    const webhookXml = await app.inject({
      method: "POST",
      url: "/webhooks/stripe",
      headers: { "content-type": "text/plain", "stripe-signature": "t=1,v1=00" },
      payload: "hello",
    });
    expect(webhookXml.statusCode).toBe(415);

    const badJson = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: { ...bearer(keys.shop), "content-type": "application/json" },
      payload: "{not json",
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe("invalid_json");

    const missing = await app.inject({ method: "GET", url: "/nope" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: "not_found", message: "no route for GET /nope" } });

    const badId = await app.inject({
      method: "GET",
      url: "/api/subscriptions/nope",
      headers: bearer(keys.all),
    });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error).toMatchObject({ code: "validation_error", details: [{ path: "params.id" }] });
    expect(producer.published).toBe(0);
    await app.close();
  });

  it("validation errors name each field path and nothing is published", async () => {
    const { app, producer } = await stubGateway();
    const invalid = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: bearer(keys.shop),
      payload: {
        order_type: "new",
        orderItems: [{ offer: {} }],
        billingDetails: {},
        payment: {},
        checkoutId: "b",
        country: "GB",
      },
    });
    expect(invalid.statusCode).toBe(400);
    const body = invalid.json();
    expect(body.error.code).toBe("invalid_order");
    expect(body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "orderItems.0.offer.id" })]),
    );

    const unsupported = await app.inject({
      method: "POST",
      url: "/api/orders",
      headers: bearer(keys.shop),
      payload: { order_type: "renew", subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b" },
    });
    expect(unsupported.statusCode).toBe(400);
    expect(unsupported.json().error).toMatchObject({
      code: "unsupported_order_type",
      details: [{ path: "order_type" }],
    });
    expect(producer.published).toBe(0);
    await app.close();
  });
});

describe("observability", () => {
  it("exposes Prometheus metrics by route and status, and never logs API keys or signatures", async () => {
    const lines: string[] = [];
    const { createMetrics } = await import("@bridge/observability");
    const logger = createLogger("ingest-gateway-test", {
      level: "trace",
      destination: { write: (line: string) => lines.push(line) },
    });
    const metrics = createMetrics("ingest-gateway-test", { defaultMetrics: false });
    const app = await buildGateway({
      config: testConfig(),
      logger,
      producer: stubProducer(),
      store: { db: {} as never, sql: async () => [], ping: async () => true },
      metrics,
    });
    await app.inject({
      method: "GET",
      url: "/api/orders/order-00000000000000000000000000000000",
      headers: bearer(keys.shop),
    });
    await app.inject({
      method: "GET",
      url: "/api/orders/order-00000000000000000000000000000000",
      headers: bearer("wrong-key-0123456789abcdef"),
    });
    await app.inject({
      method: "POST",
      url: "/webhooks/stripe",
      headers: { "content-type": "application/json", "stripe-signature": "t=1700000000,v1=deadbeefdeadbeef" },
      payload: JSON.stringify({ id: "evt_1" }),
    });
    await app.inject({ method: "GET", url: "/healthz?api_key=query-secret-0123456789&token=tok-987" });
    const scraped = await app.inject({ method: "GET", url: "/metrics" });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.headers["content-type"]).toMatch(/text\/plain/);
    expect(scraped.body).toMatch(
      /gateway_http_requests_total\{route="\/api\/order\/:id",method="GET",status="403"[^}]*\} 1/,
    );
    expect(scraped.body).toMatch(
      /gateway_http_requests_total\{route="\/api\/order\/:id",method="GET",status="401"[^}]*\} 1/,
    );
    expect(scraped.body).toMatch(
      /gateway_http_request_duration_seconds_bucket\{[^}]*route="\/webhooks\/stripe"/,
    );
    expect(scraped.body).toMatch(/gateway_webhook_verification_failures_total\{reason="mismatch"[^}]*\} 1/);
    await app.close();
    const logged = lines.join("\n");
    expect(lines.length).toBeGreaterThan(3);
    expect(logged).not.toContain(keys.shop);
    expect(logged).not.toContain("wrong-key-0123456789abcdef");
    expect(logged).not.toContain("query-secret-0123456789");
    expect(logged).not.toContain("tok-987");
    expect(logged).toContain('"url":"/healthz?[redacted]"');
    expect(logged).not.toContain("deadbeefdeadbeef");
    expect(logged).not.toContain(webhookSecrets.current);
  });

  it("writes one access line per request, with the correlation id, method, route, status and duration", async () => {
    const lines: string[] = [];
    const logger = createLogger("ingest-gateway-test", {
      level: "info",
      destination: { write: (line: string) => lines.push(line) },
    });
    const gateway = await buildGateway({
      config: testConfig(),
      logger,
      producer: stubProducer(),
      store: { db: {} as never, sql: async () => [], ping: async () => true },
    });
    const response = await gateway.inject({
      method: "GET",
      url: "/api/orders/order-00000000000000000000000000000000?token=tok-in-query",
      headers: { ...bearer("wrong-key-0123456789abcdef"), "x-correlation-id": "corr-access-1" },
    });
    expect(response.statusCode).toBe(401);
    await gateway.close();
    const ofRequest = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.correlationId === "corr-access-1");
    expect(ofRequest.map((line) => line.msg)).toEqual(["request completed"]);
    expect(ofRequest[0]).toMatchObject({
      req: { method: "GET", url: "/api/order/order-00000000000000000000000000000000?[redacted]" },
      route: "/api/order/:id",
      res: { statusCode: 401 },
      responseTime: expect.any(Number),
    });
    expect(lines.join("\n")).not.toContain("wrong-key-0123456789abcdef");
  });
});
