import type { Registry } from "prom-client";
import { Counter, Histogram } from "prom-client";
import Stripe from "stripe";
import { type RateLimiter, sharedLimiterFor } from "./rate-limiter.ts";

export type StripeClientOptions = {
  secretKey: string;
  /** Base URL of the API; unset → api.stripe.com. Locally the emulator, e.g. http://127.0.0.1:12111. */
  apiUrl?: string | undefined;
  /** Requests per second for this key (default: 25 test, 100 live), shared by every client in the process. */
  ratePerSecond?: number | undefined;
  /**
   * Who hands out request slots: the account's shared budget (decision 016, what the services
   * use); without one, a per-process limiter at `ratePerSecond` (tests and one-off tools).
   */
  limiter?: RateLimiter | undefined;
  /** The SDK's own retries of connection errors, 409/429/5xx (it reuses the idempotency key). */
  maxNetworkRetries?: number;
  timeoutMs?: number;
  registry?: Registry | undefined;
};

export type StripeClient = { stripe: Stripe; limiter: RateLimiter };

/**
 * The official SDK, unchanged, pointed at Stripe or the emulator through `host`/`port`/`protocol`.
 * Every HTTP request (including the SDK's own retries) first takes a token from the key's shared
 * limiter, and is counted by method, route and status.
 */
export function createStripeClient(options: StripeClientOptions): StripeClient {
  const limiter = options.limiter ?? sharedLimiterFor(options.secretKey, options.ratePerSecond);
  const metrics = options.registry ? stripeMetrics(options.registry) : undefined;
  const inner = Stripe.createNodeHttpClient();

  class LimitedHttpClient extends Stripe.HttpClient {
    override getClientName() {
      return `limited-${inner.getClientName()}`;
    }
    override async makeRequest(...args: Parameters<Stripe.HttpClient["makeRequest"]>) {
      const [, , path, method] = args;
      const route = routeOf(path);
      const waited = metrics?.limiterWait.startTimer({ method, route });
      await limiter.acquire();
      waited?.();
      const stop = metrics?.latency.startTimer({ method, route });
      try {
        const response = await inner.makeRequest(...args);
        metrics?.requests.inc({ method, route, status: String(response.getStatusCode()) });
        return response;
      } catch (error) {
        metrics?.requests.inc({ method, route, status: "network_error" });
        throw error;
      } finally {
        stop?.();
      }
    }
  }

  const url = options.apiUrl ? new URL(options.apiUrl) : undefined;
  const stripe = new Stripe(options.secretKey, {
    httpClient: new LimitedHttpClient(),
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    appInfo: { name: "limio-stripe-bridge" },
    ...(url
      ? {
          host: url.hostname,
          port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
          protocol: url.protocol === "https:" ? "https" : "http",
        }
      : {}),
  });
  return { stripe, limiter };
}

/** `/v1/customers/cus_123/sources` → `/v1/customers/:id/sources`: a bounded label set for metrics. */
export function routeOf(path: string): string {
  const [pathname] = path.split("?");
  return (pathname ?? "")
    .split("/")
    .map((segment) => (isStripeId(segment) ? ":id" : segment))
    .join("/");
}

/** `cus_Nffrfeu4ARXTr2`, `sub_sched_1Mv…`: a lowercase prefix, then a tail with digits or capitals. */
function isStripeId(segment: string): boolean {
  const tail = /^[a-z]+(?:_[a-z]+)*_([A-Za-z0-9]{6,})$/.exec(segment)?.[1];
  return tail !== undefined && /[A-Z0-9]/.test(tail);
}

const metricsByRegistry = new WeakMap<Registry, ReturnType<typeof createStripeMetrics>>();

function stripeMetrics(registry: Registry) {
  let metrics = metricsByRegistry.get(registry);
  if (!metrics) {
    metrics = createStripeMetrics(registry);
    metricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

function createStripeMetrics(registry: Registry) {
  const secondsByRoute = (name: string, help: string) =>
    new Histogram({
      name,
      help,
      labelNames: ["method", "route"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return {
    requests: new Counter({
      name: "stripe_requests_total",
      help: "HTTP requests made to the Stripe API, by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    latency: secondsByRoute("stripe_request_duration_seconds", "Stripe API request latency"),
    limiterWait: secondsByRoute(
      "stripe_limiter_wait_seconds",
      "Time a Stripe request waited for the rate limiter (the account's shared budget) before it was sent",
    ),
  };
}
