import { env, exampleSecretsIn, parseConfig, splitList } from "@bridge/config";
import { ORDER_SECRET_KEY_PATTERN } from "@bridge/store";
import { z } from "zod";

const scopes = ["orders", "sync", "read", "ops", "catalog"] as const;
export type ApiScope = (typeof scopes)[number];
export type ApiKey = { name: string; key: string; scopes: ApiScope[] };

/** `name:key:scope+scope,name2:key2:scope` → API keys with scopes. */
const apiKeysVar = z
  .string({ error: "API_KEYS is required, e.g. shop:<key>:orders+read,ops:<key>:sync+read" })
  .transform((value, ctx): ApiKey[] => {
    const keys: ApiKey[] = [];
    for (const [index, entry] of splitList(value).entries()) {
      const [name, key, scopeList] = entry.split(":");
      const parsed = (scopeList ?? "").split("+").filter(Boolean);
      const unknown = parsed.filter((scope) => !scopes.includes(scope as ApiScope));
      if (!name || !key || key.length < 16 || parsed.length === 0 || unknown.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `entry ${index + 1} must be name:key:scopes with a key of 16+ characters and scopes from ${scopes.join("+")}`,
        });
        continue;
      }
      keys.push({ name, key, scopes: parsed as ApiScope[] });
    }
    return keys;
  })
  .refine((keys) => keys.length > 0, "API_KEYS needs at least one key");

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Every setting of the ingest-gateway, parsed once at boot (see README "Configuration"). */
export const configSchema = z
  .object({
    PORT: env.port(8080),
    HOST: z.string().default("0.0.0.0"),
    KAFKA_BROKERS: env.kafkaBrokers,
    DATABASE_URL: env.databaseUrl,
    API_KEYS: apiKeysVar,
    /** Webhook endpoint secrets (whsec_…), comma-separated: several are accepted during rotation. */
    STRIPE_WEBHOOK_SECRETS: z
      .string({ error: "STRIPE_WEBHOOK_SECRETS is required (whsec_…)" })
      .transform(splitList)
      .refine(
        (list) => list.length > 0 && list.every((secret) => secret.startsWith("whsec_")),
        "each secret must start with whsec_",
      ),
    /** How long `process_immediately` orders and sync calls wait for their outcome before answering 202. */
    WAIT_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
    /** Order and sync bodies; the input limits below bound what they may hold. */
    BODY_LIMIT_BYTES: int(1024, 50_000_000, 262_144),
    /** Upper bound for one Kafka publish (connection included); past it the caller gets 503. */
    KAFKA_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** Partitions of each bridge topic created at boot (existing topics are left alone). */
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1_000).default(6),
    /**
     * A store query waits at most this for a pool connection (opening one or for a busy pool to
     * free one), and runs at most STATEMENT_TIMEOUT: past either the request is 503, not queued on.
     */
    DATABASE_CONNECT_TIMEOUT_MS: int(100, 60_000, 5_000),
    DATABASE_STATEMENT_TIMEOUT_MS: int(100, 300_000, 5_000),
    /** Seconds a client is told to wait (Retry-After) when Kafka or the store is unavailable. */
    RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3_600).default(5),
    /** How long SIGTERM waits for in-flight requests before exiting anyway. */
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(15_000),
    /** The writer's ORDER_SECRET_KEY: opens a waiting order's confirmation secret for GET (decision 018). */
    ORDER_SECRET_KEY: z
      .string()
      .regex(ORDER_SECRET_KEY_PATTERN, "ORDER_SECRET_KEY must be 32 bytes, base64 (openssl rand -base64 32)")
      .optional(),
    /**
     * Order previews only (decision 026): the gateway reads Stripe, never writes to it. Unset:
     * POST /api/order/preview answers 503. A restricted key (rk_…) with read access suffices.
     */
    STRIPE_SECRET_KEY: env.stripeSecretKey.optional(),
    STRIPE_API_URL: env.stripeApiUrl,
    /**
     * The longest a preview waits for the Stripe budget (all its calls together), which serves it
     * below orders (decision 026): past it 503 with Retry-After. At most PREVIEW_MAX_WAITING of its
     * requests wait at once in this process; beyond that a preview is 503 at once.
     */
    PREVIEW_BUDGET_WAIT_MS: int(50, 60_000, 2_000),
    PREVIEW_MAX_WAITING: int(1, 1_000, 10),
    /** The account's request budget (decision 016), as the writer's; default Stripe's limit for the key. */
    STRIPE_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().optional(),
    LOG_LEVEL: env.logLevel,
    /** Local runs only: accept the secrets this repository publishes (local-dev-key-change-me, …). */
    ALLOW_EXAMPLE_SECRETS: env.boolean(false),
    /** Consumer groups whose lag the operator console shows (each app's KAFKA_GROUP_ID). */
    WRITER_GROUP_ID: z.string().min(1).default("stripe-writer"),
    SYNC_GROUP_ID: z.string().min(1).default("sync-consumer"),

    // Edge limits (docs/decisions/013-edge-limits.md).
    /**
     * The broker's largest message (Kafka's `message.max.bytes`, 1,048,588 by default) minus
     * headroom for the record batch framing: no message or publish batch is bigger.
     */
    KAFKA_MAX_MESSAGE_BYTES: int(65_536, 100_000_000, 1_000_000),
    /** Webhook bodies: Stripe's events are a few KB to tens of KB (an invoice lists at most 10 lines). */
    WEBHOOK_BODY_LIMIT_BYTES: int(1024, 10_485_760, 262_144),
    MAX_JSON_DEPTH: int(4, 64, 16),
    MAX_STRING_LENGTH: int(64, 1_000_000, 10_000),
    MAX_ARRAY_ITEMS: int(1, 100_000, 100),
    MAX_FIELDS: int(16, 100_000, 1_000),
    MAX_ORDER_ITEMS: int(1, 1_000, 20),
    MAX_QUANTITY: int(1, 1_000_000, 100),
    /** Stripe refuses amounts above 99,999,999 minor units (8 digits) for most currencies. */
    MAX_AMOUNT: int(1, 99_999_999, 99_999_999),
    /** Whole request (headers and body) must arrive within this; slow senders are cut off (408). */
    REQUEST_TIMEOUT_MS: int(1_000, 300_000, 10_000),
    HEADERS_TIMEOUT_MS: int(1_000, 300_000, 5_000),
    /** An idle keep-alive connection is closed after this. */
    KEEP_ALIVE_TIMEOUT_MS: int(100, 300_000, 5_000),
    /** A socket with no traffic at all is closed after this; longer than any answer may take. */
    SOCKET_TIMEOUT_MS: int(1_000, 600_000, 30_000),
    /** Open connections at most; further ones are refused at once. */
    MAX_CONNECTIONS: int(1, 1_000_000, 1_024),
    /**
     * Of MAX_CONNECTIONS, this many are kept from API keys: a request with a key is refused (503,
     * connection closed) while more than MAX_CONNECTIONS minus this are open, so the Stripe
     * webhook (and health probes) find a free one (decision 013, 2026-12-03).
     */
    WEBHOOK_RESERVED_CONNECTIONS: int(1, 1_000_000, 64),
    /**
     * Requests of one API key in flight at once (`process_immediately` waits included); more are
     * 429 `too_many_concurrent_requests`, so one key cannot hold every connection.
     */
    MAX_CONCURRENT_REQUESTS_PER_KEY: int(1, 1_000_000, 64),
    /** Per API key and minute: order submissions, and Sync API calls (each costs Stripe reads). */
    RATE_LIMIT_ORDERS_PER_MINUTE: int(1, 10_000_000, 60_000),
    RATE_LIMIT_SYNC_PER_MINUTE: int(1, 1_000_000, 120),
  })
  .superRefine((config, ctx) => {
    const published = exampleSecretsIn([
      ...config.API_KEYS.map((key) => key.key),
      ...config.STRIPE_WEBHOOK_SECRETS,
    ]);
    if (published.length > 0 && !config.ALLOW_EXAMPLE_SECRETS) {
      ctx.addIssue({
        code: "custom",
        path: ["API_KEYS"],
        message:
          "uses a secret published in this repository (API_KEYS or STRIPE_WEBHOOK_SECRETS); choose your own, or set ALLOW_EXAMPLE_SECRETS=true for a local run",
      });
    }
    if (config.BODY_LIMIT_BYTES * 2 > config.KAFKA_MAX_MESSAGE_BYTES) {
      ctx.addIssue({
        code: "custom",
        path: ["BODY_LIMIT_BYTES"],
        message: "must be at most half of KAFKA_MAX_MESSAGE_BYTES (the envelope and ids come on top)",
      });
    }
    if (config.WEBHOOK_RESERVED_CONNECTIONS >= config.MAX_CONNECTIONS) {
      ctx.addIssue({
        code: "custom",
        path: ["WEBHOOK_RESERVED_CONNECTIONS"],
        message: "must be less than MAX_CONNECTIONS (the rest is what API keys may use)",
      });
    }
    if (config.SOCKET_TIMEOUT_MS <= config.WAIT_TIMEOUT_MS + config.KAFKA_PUBLISH_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["SOCKET_TIMEOUT_MS"],
        message:
          "must exceed WAIT_TIMEOUT_MS + KAFKA_PUBLISH_TIMEOUT_MS (a waiting answer sends nothing meanwhile)",
      });
    }
  });

export type GatewayConfig = z.infer<typeof configSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): GatewayConfig =>
  parseConfig("ingest-gateway", configSchema, source);

/** The store's pool bounds from the gateway's config (server.ts; the tests' gateway too). */
export const gatewayStoreOptions = (config: GatewayConfig) => ({
  connectionTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
  statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
});
