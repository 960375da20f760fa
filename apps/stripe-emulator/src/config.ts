import { parseConfig, splitList } from "@bridge/config";
import { z } from "zod";

const intFromEnv = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

export const configSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(12111),
    HOST: z.string().min(1).default("127.0.0.1"),
    /** Comma-separated list of accepted keys; empty = accept any `sk_test_`/`sk_live_`/`rk_` key. */
    STRIPE_EMULATOR_API_KEYS: z.string().default(""),
    STRIPE_EMULATOR_WEBHOOK_URL: z.url().optional(),
    STRIPE_EMULATOR_WEBHOOK_SECRET: z.string().startsWith("whsec_").optional(),
    /** Requests per second per API key (Stripe test mode: 25). 0 disables the limit. */
    STRIPE_EMULATOR_RATE_LIMIT: intFromEnv(25),
    /** Requests per second per endpoint (Stripe's default: 25). 0 disables it. */
    STRIPE_EMULATOR_ENDPOINT_RATE_LIMIT: intFromEnv(25),
    /** Payment retries after a failed renewal (Stripe's Smart Retries "retry up to N times"). */
    STRIPE_EMULATOR_DUNNING_RETRIES: intFromEnv(3),
    STRIPE_EMULATOR_DUNNING_INTERVAL_DAYS: z.coerce.number().positive().default(3),
    /** What happens to the subscription once all retries failed. */
    STRIPE_EMULATOR_DUNNING_FINAL_STATUS: z.enum(["canceled", "unpaid", "past_due"]).default("canceled"),
    STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8),
    STRIPE_EMULATOR_WEBHOOK_BACKOFF_MS: intFromEnv(1000),
    STRIPE_EMULATOR_SNAPSHOT_PATH: z.string().optional(),
    STRIPE_EMULATOR_SEED: z.coerce.number().int().optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .refine((env) => !env.STRIPE_EMULATOR_WEBHOOK_URL || env.STRIPE_EMULATOR_WEBHOOK_SECRET, {
    message: "STRIPE_EMULATOR_WEBHOOK_SECRET (whsec_…) is required with STRIPE_EMULATOR_WEBHOOK_URL",
    path: ["STRIPE_EMULATOR_WEBHOOK_SECRET"],
  });

export type EmulatorConfig = {
  port: number;
  host: string;
  /** Accepted keys; empty = any well-formed test/live/restricted key. */
  apiKeys: string[];
  webhook?: { url: string; secret: string };
  rateLimitPerSecond: number;
  /** Per endpoint (route pattern); 0 = off, the default for in-process emulators. */
  endpointRateLimitPerSecond: number;
  dunning: { retries: number; intervalSeconds: number; finalStatus: "canceled" | "unpaid" | "past_due" };
  webhookDelivery: { maxAttempts: number; backoffMs: number };
  snapshotPath?: string;
  seed?: number;
  logLevel: string;
};

export function defaultConfig(overrides: Partial<EmulatorConfig> = {}): EmulatorConfig {
  return {
    port: 12111,
    host: "127.0.0.1",
    apiKeys: [],
    rateLimitPerSecond: 25,
    endpointRateLimitPerSecond: 0,
    dunning: { retries: 3, intervalSeconds: 3 * 86400, finalStatus: "canceled" },
    webhookDelivery: { maxAttempts: 8, backoffMs: 1000 },
    logLevel: "info",
    ...overrides,
  };
}

export function loadConfig(env: Record<string, string | undefined> = process.env): EmulatorConfig {
  const parsed = parseConfig("stripe-emulator", configSchema, env);
  return defaultConfig({
    port: parsed.PORT,
    host: parsed.HOST,
    apiKeys: splitList(parsed.STRIPE_EMULATOR_API_KEYS),
    ...(parsed.STRIPE_EMULATOR_WEBHOOK_URL && parsed.STRIPE_EMULATOR_WEBHOOK_SECRET
      ? {
          webhook: { url: parsed.STRIPE_EMULATOR_WEBHOOK_URL, secret: parsed.STRIPE_EMULATOR_WEBHOOK_SECRET },
        }
      : {}),
    rateLimitPerSecond: parsed.STRIPE_EMULATOR_RATE_LIMIT,
    endpointRateLimitPerSecond: parsed.STRIPE_EMULATOR_ENDPOINT_RATE_LIMIT,
    dunning: {
      retries: parsed.STRIPE_EMULATOR_DUNNING_RETRIES,
      intervalSeconds: Math.round(parsed.STRIPE_EMULATOR_DUNNING_INTERVAL_DAYS * 86400),
      finalStatus: parsed.STRIPE_EMULATOR_DUNNING_FINAL_STATUS,
    },
    webhookDelivery: {
      maxAttempts: parsed.STRIPE_EMULATOR_WEBHOOK_MAX_ATTEMPTS,
      backoffMs: parsed.STRIPE_EMULATOR_WEBHOOK_BACKOFF_MS,
    },
    ...(parsed.STRIPE_EMULATOR_SNAPSHOT_PATH ? { snapshotPath: parsed.STRIPE_EMULATOR_SNAPSHOT_PATH } : {}),
    ...(parsed.STRIPE_EMULATOR_SEED !== undefined ? { seed: parsed.STRIPE_EMULATOR_SEED } : {}),
    logLevel: parsed.LOG_LEVEL,
  });
}
