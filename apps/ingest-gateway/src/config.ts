import { env, parseConfig, splitList } from "@bridge/config";
import { ORDER_SECRET_KEY_PATTERN } from "@bridge/store";
import { z } from "zod";

const scopes = ["orders", "sync", "read"] as const;
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

/** Every setting of the ingest-gateway, parsed once at boot (see README "Configuration"). */
export const configSchema = z.object({
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
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  /** Upper bound for one Kafka publish (connection included); past it the caller gets 503. */
  KAFKA_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** Partitions of each bridge topic created at boot (existing topics are left alone). */
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1_000).default(6),
  /** Seconds a client is told to wait (Retry-After) when Kafka is unavailable. */
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3_600).default(5),
  /** How long SIGTERM waits for in-flight requests before exiting anyway. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(15_000),
  /** The writer's ORDER_SECRET_KEY: opens a waiting order's confirmation secret for GET (decision 018). */
  ORDER_SECRET_KEY: z
    .string()
    .regex(ORDER_SECRET_KEY_PATTERN, "ORDER_SECRET_KEY must be 32 bytes, base64 (openssl rand -base64 32)")
    .optional(),
  LOG_LEVEL: env.logLevel,
});

export type GatewayConfig = z.infer<typeof configSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): GatewayConfig =>
  parseConfig("ingest-gateway", configSchema, source);
