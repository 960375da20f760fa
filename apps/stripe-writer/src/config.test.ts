import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";

const validEnv = {
  KAFKA_BROKERS: "127.0.0.1:9092, 127.0.0.1:9093",
  DATABASE_URL: "postgresql://bridge:bridge@127.0.0.1:5432/bridge",
  STRIPE_SECRET_KEY: "sk_test_emulator",
  STRIPE_API_URL: "http://127.0.0.1:12111",
};

describe("stripe-writer config", () => {
  it("parses a valid environment with defaults", () => {
    const config = loadConfig(validEnv);
    expect(config.KAFKA_BROKERS).toEqual(["127.0.0.1:9092", "127.0.0.1:9093"]);
    expect(config.OPS_PORT).toBe(9101);
    expect(config.KAFKA_GROUP_ID).toBe("stripe-writer");
  });

  it("names the missing and malformed variables, never the secret", () => {
    try {
      loadConfig({ ...validEnv, KAFKA_BROKERS: undefined, STRIPE_SECRET_KEY: "pk_test_not_a_secret" });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("KAFKA_BROKERS");
      expect(message).toContain("STRIPE_SECRET_KEY");
      expect(message).not.toContain("pk_test_not_a_secret");
    }
  });

  it("refuses a live Stripe key without ORDER_SECRET_KEY (waiting orders' secrets for GET)", () => {
    expect(() => loadConfig({ ...validEnv, STRIPE_SECRET_KEY: "sk_live_abc" })).toThrow(/ORDER_SECRET_KEY/);
    const key = Buffer.alloc(32, 9).toString("base64");
    expect(
      loadConfig({ ...validEnv, STRIPE_SECRET_KEY: "sk_live_abc", ORDER_SECRET_KEY: key }).ORDER_SECRET_KEY,
    ).toBe(key);
    // The local key printed in docker-compose.yml and run-local.ts: fine with a test key, not live.
    const published = Buffer.alloc(32, 7).toString("base64");
    expect(loadConfig({ ...validEnv, ORDER_SECRET_KEY: published }).ORDER_SECRET_KEY).toBe(published);
    expect(() =>
      loadConfig({ ...validEnv, STRIPE_SECRET_KEY: "sk_live_abc", ORDER_SECRET_KEY: published }),
    ).toThrow(/published in this repository/);
    expect(() => loadConfig({ ...validEnv, ORDER_SECRET_KEY: "short" })).toThrow(/ORDER_SECRET_KEY/);
  });

  it("the default address type of change_address: billing unless configured, one of Limio's types", () => {
    expect(loadConfig(validEnv).WRITER_DEFAULT_ADDRESS_TYPE).toBe("billing");
    expect(loadConfig({ ...validEnv, WRITER_DEFAULT_ADDRESS_TYPE: "all" }).WRITER_DEFAULT_ADDRESS_TYPE).toBe(
      "all",
    );
    expect(() => loadConfig({ ...validEnv, WRITER_DEFAULT_ADDRESS_TYPE: "shipping" })).toThrow(
      /WRITER_DEFAULT_ADDRESS_TYPE/,
    );
  });
});
