import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";

const validEnv = {
  KAFKA_BROKERS: "127.0.0.1:9092",
  DATABASE_URL: "postgres://bridge:bridge@127.0.0.1:5432/bridge",
  STRIPE_SECRET_KEY: "sk_test_emulator",
};

describe("sync-consumer config", () => {
  it("defaults the Limio sources whose echoes are not re-synced", () => {
    expect(loadConfig(validEnv).LIMIO_SOURCES).toEqual(["shop", "salesforce", "limio", "bridge"]);
    expect(loadConfig({ ...validEnv, LIMIO_SOURCES: "shop, crm" }).LIMIO_SOURCES).toEqual(["shop", "crm"]);
  });

  it("refuses a database URL that is not Postgres", () => {
    expect(() => loadConfig({ ...validEnv, DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL/);
  });
});
