import { type DestinationStream, type Logger, pino } from "pino";

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

type LoggedRequest = {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
};

/**
 * An HTTP request as logged (Fastify's fields), with the query string cut off: clients put API
 * keys and tokens there (`?api_key=…`), and a log line must never carry them.
 */
export function requestForLog(req: LoggedRequest) {
  const url = req.url ?? "";
  const queryAt = url.indexOf("?");
  return {
    method: req.method,
    url: queryAt === -1 ? url : `${url.slice(0, queryAt)}?[redacted]`,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * JSON logs with the service name on every line; LOG_LEVEL controls verbosity. `destination`
 * (default stdout) lets tests read what would be written.
 */
export function createLogger(
  service: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  const settings = {
    name: service,
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    base: { service },
    redact: { paths: redactPaths, censor: "[redacted]" },
    serializers: { req: requestForLog },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
