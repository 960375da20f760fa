import { env, exampleSecretsIn, parseConfig, splitList } from "@bridge/config";
import { addressTypes } from "@bridge/domain";
import { ORDER_SECRET_KEY_PATTERN } from "@bridge/store";
import { z } from "zod";

/** `<step>:<before-record|after-record>`: see crash.ts (test-only). */
const crashAtSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*:(before-record|after-record)$/, "expected <step>:before-record|after-record")
  .optional();

/** Every setting of the stripe-writer, parsed once at boot (see README "Configuration"). */
export const configSchema = z
  .object({
    OPS_PORT: env.port(9101),
    /** Where /metrics, /healthz and /readyz listen: loopback unless a scraper elsewhere needs them. */
    OPS_HOST: env.opsHost,
    KAFKA_BROKERS: env.kafkaBrokers,
    KAFKA_GROUP_ID: z.string().default("stripe-writer"),
    /**
     * Prefix for every topic name (`<prefix>limio.orders.v1`, …). Empty in production; tests use it
     * so several writers share one broker without seeing each other's messages.
     */
    KAFKA_TOPIC_PREFIX: z.string().default(""),
    /** Partitions of the topics the writer creates when they are missing. */
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(6),
    DATABASE_URL: env.databaseUrl,
    STRIPE_SECRET_KEY: env.stripeSecretKey,
    STRIPE_API_URL: env.stripeApiUrl,
    /** Requests per second shared by every order on this key (Stripe: 25 test mode, 100 live). */
    STRIPE_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().optional(),
    /** The SDK's own retries of 429/5xx/connection errors inside one attempt (same idempotency key). */
    STRIPE_MAX_NETWORK_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    /** Comma-separated module paths exporting beforeStripeSubscription / beforeStripePayInvoice hooks. */
    HOOK_MODULES: z.string().default("").transform(splitList),
    PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** Upper bound of the in-memory product / price look-up caches (entries each). */
    STRIPE_CACHE_SIZE: z.coerce.number().int().min(0).max(100_000).default(1000),
    /** What a `change_address` order without a `type` changes (the seed: "configured"). */
    WRITER_DEFAULT_ADDRESS_TYPE: z.enum(addressTypes).default("billing"),
    /** TEST ONLY: SIGKILL the process at a step boundary (`price:before-record`); never set in production. */
    WRITER_CRASH_AT: crashAtSchema,
    /**
     * Encrypts the confirmation secret of an order waiting for the customer, so the gateway's GET
     * can hand it to the shop (decision 018): 32 bytes, base64. Required with a live Stripe key.
     */
    ORDER_SECRET_KEY: z
      .string()
      .regex(ORDER_SECRET_KEY_PATTERN, "ORDER_SECRET_KEY must be 32 bytes, base64 (openssl rand -base64 32)")
      .optional(),
    LOG_LEVEL: env.logLevel,
  })
  .refine((c) => c.ORDER_SECRET_KEY !== undefined || !isLiveKey(c.STRIPE_SECRET_KEY), {
    path: ["ORDER_SECRET_KEY"],
    message:
      "ORDER_SECRET_KEY is required with a live Stripe key (shops read confirmation secrets through GET)",
  })
  // The local key is in this repository: with real money it would protect nothing.
  .refine(
    (c) => !isLiveKey(c.STRIPE_SECRET_KEY) || exampleSecretsIn([c.ORDER_SECRET_KEY ?? ""]).length === 0,
    {
      path: ["ORDER_SECRET_KEY"],
      message:
        "ORDER_SECRET_KEY is the local key published in this repository; generate your own for a live Stripe key",
    },
  );

function isLiveKey(key: string): boolean {
  return /^(sk|rk)_live_/.test(key);
}

export type WriterConfig = z.infer<typeof configSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): WriterConfig =>
  parseConfig("stripe-writer", configSchema, source);
