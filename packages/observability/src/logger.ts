import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/** Field names whose values never reach a log line: keys, tokens, signatures, secrets. */
const secretFields = new Set([
  "authorization",
  "stripe-signature",
  "apiKey",
  "api_key",
  "secret",
  "secretKey",
  "stripeSecretKey",
  "webhookSecret",
  "client_secret",
  "password",
]);
/** Fields secret only inside a `card` object (its number and security code). */
const cardSecretFields = new Set(["number", "cvc"]);
const censor = "[redacted]";
/**
 * How deep logged objects and arrays are searched: `req.headers.authorization` is three levels
 * down, a card in a list of payment methods four (`paymentMethods[0].card.number`).
 */
const maxSecretDepth = 6;

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/** A copy to censor: an Error keeps its class, message and stack (not enumerable, so not spread). */
const copyOf = (value: Record<string, unknown>): Record<string, unknown> =>
  value instanceof Error
    ? Object.assign(Object.create(Object.getPrototypeOf(value)), value, {
        message: value.message,
        stack: value.stack,
      })
    : { ...value };

/**
 * `value` with every secret field (by name, in plain objects, arrays and errors, down to six
 * levels) replaced by "[redacted]"; the same object when it holds none, so a clean line costs no
 * copy. Other class instances (a Fastify request) go through their serializer, which emits only
 * known-safe fields. Replaces pino's wildcard redaction (`*.authorization`, …), which cost about
 * 50 µs per line in the gateway (decision 028): this walk is a few key look-ups.
 */
export function censorSecrets<T>(value: T, depth = 1, inCard = false): T {
  if (depth > maxSecretDepth) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = censorSecrets(item, depth + 1, inCard);
      if (next !== item) {
        copy ??= [...value];
        copy[i] = next;
      }
    });
    return (copy ?? value) as T;
  }
  if (!(isPlainObject(value) || value instanceof Error)) return value;
  let copy: Record<string, unknown> | undefined;
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const field = fields[key];
    const next =
      secretFields.has(key) || (inCard && cardSecretFields.has(key))
        ? censor
        : censorSecrets(field, depth + 1, key === "card");
    if (next !== field) {
      copy ??= copyOf(fields);
      copy[key] = next;
    }
  }
  return (copy ?? value) as T;
}

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
    // Keys, tokens, signatures and card data never reach a line, whatever object a caller logs.
    formatters: { log: (object: Record<string, unknown>) => censorSecrets(object) },
    serializers: { req: requestForLog },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const logger = options.destination ? pino(settings, options.destination) : pino(settings);
  // A child's bindings are written on each of its lines: censored once, when it is made. Children
  // inherit this `child` (pino children are prototype copies of their parent). Not pino's
  // `formatters.bindings`: in pino 10 it never sees a child's bindings (the test's binding leaks).
  const childOf = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return childOf.call(this, censorSecrets(bindings), childOptions);
  } as Logger["child"];
  return logger;
}
