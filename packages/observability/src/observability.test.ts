import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createMetrics, redactPaths, startOpsServer } from "./index.ts";

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

describe("logger redaction", () => {
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
