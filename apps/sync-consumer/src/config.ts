import { env, parseConfig } from "@bridge/config";
import { topics } from "@bridge/messaging";
import { z } from "zod";

/** Every setting of the sync-consumer, parsed once at boot (see README "Configuration"). */
export const configSchema = z.object({
  OPS_PORT: env.port(9102),
  /** Where /metrics, /healthz and /readyz listen: loopback unless a scraper elsewhere needs them. */
  OPS_HOST: env.opsHost,
  KAFKA_BROKERS: env.kafkaBrokers,
  KAFKA_GROUP_ID: z.string().default("sync-consumer"),
  DATABASE_URL: env.databaseUrl,
  STRIPE_SECRET_KEY: env.stripeSecretKey,
  STRIPE_API_URL: env.stripeApiUrl,
  /**
   * Requests per second this process may make on the Stripe key (default: Stripe's 25 test /
   * 100 live). Stripe's limit is per key: with the writer on the same key, split it between them.
   */
  STRIPE_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().optional(),
  /** Partitions of the bridge topics when this service creates them (same default as the gateway). */
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1_000).default(6),
  /**
   * Topic names (default: the contract names of DESIGN.md §3). Overridden only to run a second
   * bridge side by side on one cluster, or in tests.
   */
  TOPIC_STRIPE_EVENTS: z.string().min(1).default(topics.stripeEvents),
  TOPIC_SYNC: z.string().min(1).default(topics.sync),
  TOPIC_ORDER_OUTCOMES: z.string().min(1).default(topics.orderOutcomes),
  /** Where the outbox relay publishes the change events (docs/decisions/017). */
  TOPIC_SUBSCRIPTION_CHANGES: z.string().min(1).default(topics.subscriptionChanges),
  /** How often the relay reads the outbox when no commit in this process nudged it. */
  CHANGE_RELAY_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** Published change events are deleted from the outbox after this long (Kafka keeps the topic). */
  CHANGE_EVENT_RETENTION_HOURS: z.coerce.number().int().min(1).max(8_760).default(168),
  /** Optional order-outcome callback: every outcome POSTed here, signed with CALLBACK_SECRET. */
  CALLBACK_URL: z.url().optional(),
  CALLBACK_SECRET: z.string().min(16).optional(),
  /**
   * Burst coalescing (decisions 010, 023): one refetch for the events of one renewal, reading the
   * latest invoice instead of the list when that is provably enough. Off only for the benchmark's
   * baseline (one full refetch per event).
   */
  SYNC_COALESCE: env.boolean(true),
  /** How long after its event reached Kafka a sync waits for the rest of the burst (0: never). */
  SYNC_COALESCE_SETTLE_MS: z.coerce.number().int().min(0).max(10_000).default(2_000),
  PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  LOG_LEVEL: env.logLevel,
});

export type SyncConfig = z.infer<typeof configSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): SyncConfig =>
  parseConfig("sync-consumer", configSchema, source);
