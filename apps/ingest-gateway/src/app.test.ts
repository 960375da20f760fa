import { createLogger } from "@bridge/observability";
import { describe, expect, it } from "vitest";
import { buildGateway } from "./app.ts";
import { loadConfig } from "./config.ts";

const validEnv = {
  KAFKA_BROKERS: "127.0.0.1:9092",
  DATABASE_URL: "postgresql://bridge:bridge@127.0.0.1:5432/bridge",
  API_KEYS: "shop:shop-key-0123456789abcdef:orders+read,ops:ops-key-0123456789abcdef:sync",
  STRIPE_WEBHOOK_SECRETS: "whsec_current,whsec_previous",
};

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
});

describe("gateway health", () => {
  it("answers /healthz and reports failing dependencies on /readyz with 503", async () => {
    let databaseUp = true;
    const app = await buildGateway({
      config: loadConfig(validEnv),
      logger: createLogger("test", { level: "silent" }),
      readiness: async () => ({ database: databaseUp }),
    });
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    databaseUp = false;
    const notReady = await app.inject({ method: "GET", url: "/readyz" });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ checks: { database: false } });
    await app.close();
  });
});
