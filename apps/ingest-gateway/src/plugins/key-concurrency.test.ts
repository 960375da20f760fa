import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Counter } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  startTestGateway,
  type TestGateway,
  until,
  webhookSecrets,
} from "../../test/support.ts";
import { createOutcomeRegistry } from "../outcome-waiter.ts";

// One API key must not hold every connection: `process_immediately` orders each wait up to
// WAIT_TIMEOUT_MS for their outcome, and the per-minute rate limit allowed ~1,024 of them at once.

/** A Limio order without its own ids (the gateway mints them), waiting for its outcome. */
const waitingOrder = () => {
  const {
    id: _id,
    order_reference: _ref,
    sub_reference: _sub,
    ...order
  } = JSON.parse(readFileSync(new URL("../../../../test/fixtures/limio/new.json", import.meta.url), "utf8"));
  return { ...order, external_id: `EXT-${randomUUID()}`, process_immediately: true };
};

function signedWebhook() {
  const event = {
    id: `evt_${randomUUID().replaceAll("-", "").slice(0, 20)}`,
    object: "event",
    api_version: "2026-10-28.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type: "customer.subscription.updated",
    request: { id: null, idempotency_key: null },
    data: { object: { id: "sub_concurrency", object: "subscription", customer: "cus_concurrency" } },
  };
  const payload = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", webhookSecrets.current).update(`${t}.${payload}`).digest("hex");
  return { payload, signature: `t=${t},v1=${v1}` };
}

type Probe = { socket: Socket; received: string; closed: boolean };

/** A raw HTTP/1.1 request on its own connection: the test sees exactly when it closes. */
function rawRequest(port: number, head: string, body = ""): Probe {
  const probe: Probe = { socket: connect(port, "127.0.0.1"), received: "", closed: false };
  probe.socket.setEncoding("utf8");
  probe.socket.on("data", (chunk: string) => {
    probe.received += chunk;
  });
  probe.socket.on("error", () => {});
  probe.socket.on("close", () => {
    probe.closed = true;
  });
  probe.socket.write(head + body);
  return probe;
}

const orderHead = (key: string, contentLength: number) =>
  "POST /api/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
  `Authorization: Bearer ${key}\r\nContent-Length: ${contentLength}\r\n\r\n`;

async function refusals(gw: TestGateway, code: string, apiKey: string) {
  const metric = gw.metrics.registry.getSingleMetric("gateway_requests_refused_total") as Counter;
  const values = (await metric.get()).values;
  return values.find((v) => v.labels.code === code && v.labels.api_key === apiKey)?.value ?? 0;
}

describe("MAX_CONCURRENT_REQUESTS_PER_KEY", () => {
  // Outcomes never come until the test says so: the orders wait as long as it needs.
  const outcomes = createOutcomeRegistry();
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    gw = await startTestGateway({
      outcomes,
      config: {
        MAX_CONCURRENT_REQUESTS_PER_KEY: "3",
        WAIT_TIMEOUT_MS: "20000",
        REQUEST_TIMEOUT_MS: "1000",
        HEADERS_TIMEOUT_MS: "1000",
      },
    });
    await gw.app.listen({ port: 0, host: "127.0.0.1" });
    const address = gw.app.server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    port = address.port;
  }, 120_000);

  afterAll(async () => {
    await outcomes.stop();
    await gw?.close();
  });

  const submit = (key: string, order: object) =>
    gw.app.inject({ method: "POST", url: "/api/orders", headers: bearer(key), payload: order });

  it("answers 429 to a key's request beyond the limit; another key and the webhook still get through", async () => {
    const held = [1, 2, 3].map(() => submit(keys.shop, waitingOrder()));
    // All three were published and wait for their outcome.
    await until(() => outcomes.pending() === 3, 10_000, "three orders waiting");
    expect(gw.app.keyRequestsInFlight("shop")).toBe(3);

    const extra = await submit(keys.shop, waitingOrder());
    expect(extra.statusCode).toBe(429);
    expect(extra.json().error.code).toBe("too_many_concurrent_requests");
    expect(Number(extra.headers["retry-after"])).toBeGreaterThan(0);
    expect(extra.headers.connection).toBe("close");
    expect(await refusals(gw, "too_many_concurrent_requests", "shop")).toBe(1);

    const otherKey = await submit(keys.all, { ...waitingOrder(), process_immediately: false });
    expect(otherKey.statusCode).toBe(202);
    const { payload, signature } = signedWebhook();
    const webhook = await gw.app.inject({
      method: "POST",
      url: "/webhooks/stripe",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      payload,
    });
    expect(webhook.statusCode).toBe(200);

    // The waits end (as a timed-out wait does: no outcome): the orders answer 202, the slots are free.
    await outcomes.stop();
    expect((await Promise.all(held)).map((r) => r.statusCode)).toEqual([202, 202, 202]);
    await until(() => gw.app.keyRequestsInFlight("shop") === 0, 5_000, "the key's slots released");
    expect((await submit(keys.shop, { ...waitingOrder(), process_immediately: false })).statusCode).toBe(202);
  });

  it("gives a key's slots back after an error, a request timeout and a client that went away", async () => {
    // An invalid order: 400 from the handler.
    const invalid = await submit(keys.shop, { process_immediately: true });
    expect(invalid.statusCode).toBe(400);
    await until(() => gw.app.keyRequestsInFlight("shop") === 0, 5_000, "released after the 400");

    // A body announced and never sent: Node cuts it off at REQUEST_TIMEOUT_MS.
    const slow = rawRequest(port, orderHead(keys.shop, 1_000), "{");
    await until(() => gw.app.keyRequestsInFlight("shop") === 1, 5_000, "the slow request counted");
    await until(() => slow.closed, 5_000, "the slow request cut off");
    expect(slow.received === "" || slow.received.startsWith("HTTP/1.1 408")).toBe(true);
    await until(() => gw.app.keyRequestsInFlight("shop") === 0, 5_000, "released after the timeout");

    // A client that goes away while its order waits for the outcome.
    const body = JSON.stringify(waitingOrder());
    const waiting = outcomes.pending();
    const gone = rawRequest(port, orderHead(keys.shop, Buffer.byteLength(body)), body);
    await until(() => outcomes.pending() === waiting + 1, 10_000, "the order waiting");
    expect(gw.app.keyRequestsInFlight("shop")).toBe(1);
    gone.socket.destroy();
    await until(() => gw.app.keyRequestsInFlight("shop") === 0, 5_000, "released after the abort");
    await outcomes.stop();
  });
});

describe("WEBHOOK_RESERVED_CONNECTIONS", () => {
  const outcomes = createOutcomeRegistry();
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    gw = await startTestGateway({
      outcomes,
      config: { MAX_CONNECTIONS: "12", WEBHOOK_RESERVED_CONNECTIONS: "4", WAIT_TIMEOUT_MS: "20000" },
    });
    await gw.app.listen({ port: 0, host: "127.0.0.1" });
    const address = gw.app.server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    port = address.port;
  }, 120_000);

  afterAll(async () => {
    await outcomes.stop();
    await gw?.close();
  });

  const postWaitingOrder = () => {
    const body = JSON.stringify(waitingOrder());
    return rawRequest(port, orderHead(keys.shop, Buffer.byteLength(body)), body);
  };

  it("API clients cannot take the connections kept for the webhook", async () => {
    // A key (within its own limit of 64) holds the 8 connections API clients may use...
    const held = Array.from({ length: 8 }, postWaitingOrder);
    await until(() => outcomes.pending() === 8, 10_000, "eight orders waiting");
    // ...and tries for every other one: refused, and the connections closed.
    const refused = Array.from({ length: 4 }, postWaitingOrder);
    await until(() => refused.every((p) => p.closed), 5_000, "the extra connections closed");
    for (const probe of refused) {
      expect(probe.received).toMatch(/^HTTP\/1\.1 503 /);
      expect(probe.received).toContain("too_many_connections");
      expect(probe.received.toLowerCase()).toContain("retry-after:");
    }
    expect(await refusals(gw, "too_many_connections", "shop")).toBe(4);

    // Stripe's webhook still connects and is answered.
    const { payload, signature } = signedWebhook();
    const webhook = rawRequest(
      port,
      "POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
        `Stripe-Signature: ${signature}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n`,
      payload,
    );
    await until(
      () => webhook.received.includes("\r\n\r\n") || webhook.closed,
      10_000,
      "the webhook answered",
    );
    expect(webhook.received).toMatch(/^HTTP\/1\.1 200 /);

    await outcomes.stop();
    await until(
      () => held.every((p) => p.received.startsWith("HTTP/1.1 202")),
      10_000,
      "the orders answered",
    );
    for (const probe of [...held, webhook]) probe.socket.destroy();
  });
});
