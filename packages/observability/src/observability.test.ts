import { networkInterfaces } from "node:os";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, createMetrics, redactPaths, requestForLog, startOpsServer } from "./index.ts";

describe("ops server", () => {
  it("serves health, readiness (503 when a check fails) and metrics", async () => {
    let kafkaUp = true;
    const metrics = createMetrics("test-service", { defaultMetrics: false });
    const server = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      metrics,
      readiness: async () => ({ kafka: kafkaUp }),
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      kafkaUp = false;
      const notReady = await fetch(`${server.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ checks: { kafka: false } });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toBe(await metrics.render());
    } finally {
      await server.close();
    }
  });
});

describe("ops server binding", () => {
  it("listens on loopback unless told otherwise: unreachable on the machine's other addresses", async () => {
    const server = await startOpsServer({
      port: 0,
      metrics: createMetrics("test-service", { defaultMetrics: false }),
      readiness: async () => ({}),
    });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      const external = Object.values(networkInterfaces())
        .flat()
        .find((address) => address && address.family === "IPv4" && !address.internal);
      if (external) {
        await expect(fetch(`http://${external.address}:${server.port}/healthz`)).rejects.toThrow();
      }
    } finally {
      await server.close();
    }
  });
});

describe("logger redaction", () => {
  it("logs requests without their query string (clients put keys and tokens there)", () => {
    const lines: string[] = [];
    const logger = createLogger("test", {
      level: "info",
      destination: { write: (line: string) => lines.push(line) },
    });
    logger.info({
      req: { method: "GET", url: "/api/orders/x?api_key=sk_live_in_query&x=1", ip: "127.0.0.1" },
    });
    const line = lines.join("");
    expect(line).not.toContain("sk_live_in_query");
    expect(JSON.parse(line).req).toMatchObject({ method: "GET", url: "/api/orders/x?[redacted]" });
    expect(requestForLog({ url: "/healthz" }).url).toBe("/healthz");
  });

  it("never writes keys, signatures or card data", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: { paths: redactPaths, censor: "[redacted]" } }, sink);
    logger.info({
      req: { headers: { authorization: "Bearer sk_live_secret", "stripe-signature": "t=1,v1=abc" } },
      payment: { card: { number: "4242424242424242", cvc: "123" } },
      apiKey: "key-123",
    });
    const line = lines.join("");
    for (const secret of ["sk_live_secret", "v1=abc", "4242424242424242", "key-123"])
      expect(line).not.toContain(secret);
    expect(line).toContain("[redacted]");
  });
});
