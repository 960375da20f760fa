import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { censorSecrets, createLogger, createMetrics, requestForLog, startOpsServer } from "./index.ts";

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

  it("never writes keys, tokens, signatures or card data, at any level a caller nests them", () => {
    const lines: string[] = [];
    const logger = createLogger("test", {
      level: "info",
      destination: { write: (line: string) => lines.push(line) },
    });
    const stripeError = Object.assign(new Error("card declined"), {
      requestOptions: { headers: { authorization: "Bearer sk_live_in_error" } },
    });
    logger.info({
      req: { headers: { authorization: "Bearer sk_live_secret", "stripe-signature": "t=1,v1=abc" } },
      headers: { "stripe-signature": "t=2,v1=def" },
      payment: { card: { number: "4242424242424242", cvc: "123", last4: "4242" } },
      card: { number: "5555555555554444" },
      apiKey: "key-123",
      config: { stripeSecretKey: "sk_live_config", webhookSecret: "whsec_config", api: { secret: "s3" } },
      intent: { client_secret: "pi_1_secret_2" },
      err: stripeError,
    });
    logger.child({ secret: "in-a-binding" }).info("child line");
    const text = lines.join("");
    for (const secret of [
      "sk_live_secret",
      "v1=abc",
      "v1=def",
      "4242424242424242",
      "5555555555554444",
      "key-123",
      "sk_live_config",
      "whsec_config",
      "s3",
      "pi_1_secret_2",
      "sk_live_in_error",
      "in-a-binding",
    ])
      expect(text, secret).not.toContain(secret);
    const line = JSON.parse(lines[0]!);
    expect(line.payment.card).toEqual({ number: "[redacted]", cvc: "[redacted]", last4: "4242" });
    // What is not secret is kept: the error's message and type, the fields around the secrets.
    expect(line.err).toMatchObject({ type: "Error", message: "card declined" });
    expect(line.config.api).toEqual({ secret: "[redacted]" });
  });

  it("censors secrets inside arrays and six levels down (a list of payment methods, a nested error)", () => {
    const logged = {
      customer: {
        paymentMethods: [{ id: "pm_1", card: { number: "4000002500003155", last4: "3155" } }, { id: "pm_2" }],
      },
      a: { b: { c: { d: { e: { apiKey: "deep-key" } } } } },
    };
    const censored = censorSecrets(logged);
    expect(censored.customer.paymentMethods[0]?.card).toEqual({ number: "[redacted]", last4: "3155" });
    expect(censored.customer.paymentMethods[1]).toBe(logged.customer.paymentMethods[1]);
    expect(censored.a.b.c.d.e).toEqual({ apiKey: "[redacted]" });
    expect(logged.customer.paymentMethods[0]?.card?.number).toBe("4000002500003155");
    const clean = { list: [{ id: 1 }, [2, { last4: "4242" }]] };
    expect(censorSecrets(clean)).toBe(clean);
  });

  it("passes an object without secrets through as is (no copy per line)", () => {
    const clean = { orderId: "o", nested: { number: 3, card: { last4: "4242" } } };
    expect(censorSecrets(clean)).toBe(clean);
    const original = { apiKey: "k", other: 1 };
    expect(censorSecrets(original)).toEqual({ apiKey: "[redacted]", other: 1 });
    expect(original.apiKey).toBe("k");
  });
});
