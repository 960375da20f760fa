import type { z } from "zod";

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
