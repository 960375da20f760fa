import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Paths pino replaces with "[redacted]". Keys, tokens, signatures and card data must never
 * reach a log line, whatever object a caller passes in.
 */
export const redactPaths = [
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  'req.headers["stripe-signature"]',
  "headers.authorization",
  'headers["stripe-signature"]',
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "*.secretKey",
  "stripeSecretKey",
  "webhookSecret",
  "*.webhookSecret",
  "client_secret",
  "*.client_secret",
  "card.number",
  "*.card.number",
  "card.cvc",
  "*.card.cvc",
];

/** JSON logs with the service name on every line; LOG_LEVEL controls verbosity. */
export function createLogger(service: string, options: { level?: string } = {}): Logger {
  return pino({
    name: service,
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: { service },
    redact: { paths: redactPaths, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
