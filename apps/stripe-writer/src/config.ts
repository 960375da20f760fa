import { env, parseConfig } from "@bridge/config";
import { z } from "zod";

/** Every setting of the stripe-writer, parsed once at boot (see README "Configuration"). */
export const configSchema = z.object({
  OPS_PORT: env.port(9101),
  KAFKA_BROKERS: env.kafkaBrokers,
  KAFKA_GROUP_ID: z.string().default("stripe-writer"),
  DATABASE_URL: env.databaseUrl,
  STRIPE_SECRET_KEY: env.stripeSecretKey,
  STRIPE_API_URL: env.stripeApiUrl,
  /** Requests per second shared by every order on this key (Stripe: 25 test mode, 100 live). */
  STRIPE_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().optional(),
  /** Comma-separated module paths exporting beforeStripeSubscription / beforeStripePayInvoice hooks. */
  HOOK_MODULES: z.string().default(""),
  PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  LOG_LEVEL: env.logLevel,
});

export type WriterConfig = z.infer<typeof configSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): WriterConfig =>
  parseConfig("stripe-writer", configSchema, source);
