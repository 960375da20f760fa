import { ConfigError } from "@bridge/config";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";

describe("config", () => {
  it("defaults: port 12111, any sk_test_ key, 25 req/s, 3 retries 3 days apart then canceled", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 12111,
      host: "127.0.0.1",
      apiKeys: [],
      rateLimitPerSecond: 25,
      dunning: { retries: 3, intervalSeconds: 259_200, finalStatus: "canceled" },
    });
    expect(config.webhook).toBeUndefined();
  });

  it("reads keys, the preconfigured webhook, dunning and snapshot settings", () => {
    const config = loadConfig({
      PORT: "0",
      STRIPE_EMULATOR_API_KEYS: "sk_test_a, sk_test_b",
      STRIPE_EMULATOR_WEBHOOK_URL: "http://127.0.0.1:3000/webhooks/stripe",
      STRIPE_EMULATOR_WEBHOOK_SECRET: "whsec_abc",
      STRIPE_EMULATOR_DUNNING_RETRIES: "2",
      STRIPE_EMULATOR_DUNNING_INTERVAL_DAYS: "1.5",
      STRIPE_EMULATOR_DUNNING_FINAL_STATUS: "unpaid",
      STRIPE_EMULATOR_SNAPSHOT_PATH: "/tmp/emu.json",
    });
    expect(config.apiKeys).toEqual(["sk_test_a", "sk_test_b"]);
    expect(config.webhook).toEqual({ url: "http://127.0.0.1:3000/webhooks/stripe", secret: "whsec_abc" });
    expect(config.dunning).toEqual({ retries: 2, intervalSeconds: 129_600, finalStatus: "unpaid" });
    expect(config.snapshotPath).toBe("/tmp/emu.json");
  });

  it("fails with a clear error naming the variable, without echoing values", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "not-a-port",
        STRIPE_EMULATOR_WEBHOOK_URL: "http://x.test/",
        STRIPE_EMULATOR_WEBHOOK_SECRET: "oops-secret",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("PORT");
    expect(message).toContain("STRIPE_EMULATOR_WEBHOOK_SECRET");
    expect(message).not.toContain("oops-secret");
  });
});
