import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";

const validEnv = {
  KAFKA_BROKERS: "127.0.0.1:9092",
  DATABASE_URL: "postgres://bridge:bridge@127.0.0.1:5432/bridge",
  STRIPE_SECRET_KEY: "sk_test_emulator",
};

describe("sync-consumer config", () => {
  it("defaults the ops port and the contract topic names", () => {
    const config = loadConfig(validEnv);
    expect(config.OPS_PORT).toBe(9102);
    expect(config.KAFKA_TOPIC_PARTITIONS).toBe(6);
    expect(config.STRIPE_RATE_LIMIT_PER_SECOND).toBeUndefined();
    expect(loadConfig({ ...validEnv, STRIPE_RATE_LIMIT_PER_SECOND: "40" }).STRIPE_RATE_LIMIT_PER_SECOND).toBe(
      40,
    );
    expect(() => loadConfig({ ...validEnv, STRIPE_RATE_LIMIT_PER_SECOND: "-1" })).toThrow(
      /STRIPE_RATE_LIMIT_PER_SECOND/,
    );
  });

  it("refuses a database URL that is not Postgres", () => {
    expect(() => loadConfig({ ...validEnv, DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL/);
  });
});
