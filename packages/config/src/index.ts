import { type z, z as zod } from "zod";

/** Thrown at boot when the environment does not satisfy an app's config schema. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(app: string, issues: string[]) {
    super(`Invalid configuration for ${app}:\n  - ${issues.join("\n  - ")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Parse an app's environment once at boot against its zod schema. Errors name the variable and
 * what is wrong with it; values are never echoed (they may be secrets).
 */
export function parseConfig<S extends z.ZodType>(
  app: string,
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
  throw new ConfigError(app, issues);
}

/** Comma-separated list → trimmed non-empty strings (for env vars such as KAFKA_BROKERS). */
export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

// Reusable env fragments, so every app describes the same variable the same way.

export const env = {
  port: (fallback: number) => zod.coerce.number().int().min(0).max(65535).default(fallback),
  kafkaBrokers: zod
    .string({ error: "KAFKA_BROKERS is required (comma-separated host:port list)" })
    .min(1, "KAFKA_BROKERS is required (comma-separated host:port list)")
    .transform(splitList),
  databaseUrl: zod
    .string({ error: "DATABASE_URL is required (postgresql://user:pass@host:port/db)" })
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgresql:// URL"),
  logLevel: zod.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Stripe secret key: test (`sk_test_`), live (`sk_live_`) or restricted (`rk_`). */
  stripeSecretKey: zod
    .string({ error: "STRIPE_SECRET_KEY is required" })
    .regex(
      /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/,
      "STRIPE_SECRET_KEY must look like sk_test_…, sk_live_… or rk_…",
    ),
  /** Base URL of the Stripe API; unset means api.stripe.com, set it to the emulator locally. */
  stripeApiUrl: zod.url({ error: "STRIPE_API_URL must be a URL such as http://127.0.0.1:12111" }).optional(),
  /** Where an ops server (/healthz, /readyz, /metrics) listens: loopback unless told otherwise. */
  opsHost: zod.string().min(1).default("127.0.0.1"),
  boolean: (fallback: boolean) =>
    zod
      .enum(["true", "false", "1", "0"])
      .default(fallback ? "true" : "false")
      .transform((value) => value === "true" || value === "1"),
};

/**
 * Secrets printed in this repository's README, compose file and local scripts: anyone can read
 * them, so a deployment that still uses one is open to everyone. Configuration refuses them
 * unless the run says it is local (ALLOW_EXAMPLE_SECRETS=true, set by the local scripts).
 */
export const publishedExampleSecrets: readonly string[] = [
  "local-dev-key-change-me",
  "whsec_local_emulator_only",
  // ORDER_SECRET_KEY of scripts/run-local.ts and docker-compose.yml (32 bytes of 0x07).
  "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
];

/** The published example secrets among `values` (to refuse them outside local runs). */
export function exampleSecretsIn(values: readonly string[]): string[] {
  return values.filter((value) => publishedExampleSecrets.includes(value));
}
