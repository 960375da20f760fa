import { env, parseConfig, splitList } from "@bridge/config";
import { z } from "zod";

/**
 * The CLI's environment, parsed once at start. Every variable is optional here because each
 * command needs a different subset; `need()` refuses a command clearly when one is missing.
 */
const configSchema = z.object({
  KAFKA_BROKERS: z.string().min(1).transform(splitList).optional(),
  DATABASE_URL: env.databaseUrl.optional(),
  STRIPE_SECRET_KEY: env.stripeSecretKey.optional(),
  STRIPE_API_URL: env.stripeApiUrl,
  BRIDGE_STATE_DIR: z.string().optional(),
  LOG_LEVEL: env.logLevel.default("warn"),
});

export type CliConfig = z.infer<typeof configSchema>;

export const loadConfig = (source: Record<string, string | undefined> = process.env): CliConfig =>
  parseConfig("bridge", configSchema, source);

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The value of a variable a command needs, or a clear refusal naming it. */
export function need<K extends keyof CliConfig>(
  config: CliConfig,
  key: K,
  command: string,
): NonNullable<CliConfig[K]> {
  const value = config[key];
  if (value === undefined || value === null)
    throw new UsageError(`'bridge ${command}' needs ${String(key)} to be set`);
  return value as NonNullable<CliConfig[K]>;
}
