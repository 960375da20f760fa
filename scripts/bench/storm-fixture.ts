// What the benchmarks that make a renewal storm share (renewal-storm, stripe-budget, scale-out):
// subscriptions on one emulator test clock, brought into Limio with the bridge's import, the
// emulator's control routes, extra replicas of a service, and the small waits and figures.
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts, type Service, startService } from "@bridge/local-infra";
import { createLogger } from "@bridge/observability";
import type { Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import { importExternalSubscription } from "@bridge/sync-core";
import type { BridgeServices } from "../../test/support/services.ts";

const DAY = 86_400;
/** 2026-01-15 12:00 UTC: subscriptions start here and renew on 2026-02-15. */
const START = Date.UTC(2026, 0, 15, 12) / 1000;
const RENEWAL = Date.UTC(2026, 1, 15, 12) / 1000;
const NEXT = Date.UTC(2026, 2, 15, 12) / 1000;
const logger = createLogger("bench-storm", { level: "warn" });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** `--name=N` on the command line, else `fallback`. */
export function argument(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  return flag ? Number(flag.split("=")[1]) : fallback;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A call to the emulator's control routes (`/_emulator/…`). */
export async function emulator(services: BridgeServices, method: string, route: string, body?: unknown) {
  const response = await fetch(`${services.stripeApiUrl}/_emulator/${route}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return response.json() as Promise<Record<string, unknown>>;
}

/**
 * Stripe's limits the emulator enforces, requests/s: for the account and per endpoint (0: none).
 * A number sets both (what Stripe's test mode gives: 25 and 25).
 */
export type StripeLimits = { account: number; endpoint: number };
const limitsOf = (limits: number | StripeLimits): StripeLimits =>
  typeof limits === "number" ? { account: limits, endpoint: limits } : limits;
/** Limits no setup or reconcile reaches. */
export const UNLIMITED: StripeLimits = { account: 100_000, endpoint: 100_000 };

/** The emulator's env for Stripe's limits at its start. */
export const emulatorLimitEnv = (limits: number | StripeLimits) => {
  const { account, endpoint } = limitsOf(limits);
  return {
    STRIPE_EMULATOR_RATE_LIMIT: String(account),
    STRIPE_EMULATOR_ENDPOINT_RATE_LIMIT: String(endpoint),
  };
};

/** The emulator's limits from now on (its control route). */
export const setLimit = (services: BridgeServices, limits: number | StripeLimits) => {
  const { account, endpoint } = limitsOf(limits);
  return emulator(services, "PUT", "settings", {
    rateLimitPerSecond: account,
    endpointRateLimitPerSecond: endpoint,
  });
};

export async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function waitFor(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 500,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A sync-consumer's /metrics says it has read everything (its lag gauge is 0 on every partition). */
export function lagIsZero(metricsText: string): boolean {
  const lags = metricsText
    .split("\n")
    .filter((l) => l.startsWith("sync_consumer_lag"))
    .map((l) => Number(l.split(" ").at(-1)));
  return lags.length > 0 && lags.every((v) => v === 0);
}

/** The sync-consumer has read everything. */
export async function syncDrained(services: BridgeServices): Promise<boolean> {
  return lagIsZero(await services.metrics("sync"));
}

/** N subscriptions on one clock, created on the emulator and imported into Limio. */
export async function setUp(stripe: Stripe, deps: { store: Store; stripe: Stripe }, renewals: number) {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: START, name: "renewal storm" });
  const price = await stripe.prices.create({
    currency: "gbp",
    unit_amount: 999,
    recurring: { interval: "month" },
    product_data: { name: "Digital Monthly" },
  });
  const stripeIds: string[] = [];
  await inParallel(
    Array.from({ length: renewals }, (_, i) => i),
    8,
    async (i) => {
      const limio = {
        limio_order_id: `order-storm-${randomUUID()}`,
        limio_subscription_id: `sub-storm-${i}`,
      };
      const customer = await stripe.customers.create({
        email: `storm-${i}-${randomUUID().slice(0, 6)}@example.com`,
        name: "Storm Bench",
        test_clock: clock.id,
        metadata: limio,
      });
      const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
      await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
      const sub = await stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: price.id }],
        metadata: { ...limio, limio_source: "bench" },
      });
      stripeIds.push(sub.id);
    },
  );
  const limioIds: string[] = [];
  await inParallel(stripeIds, 8, async (id) => {
    limioIds.push(
      (await importExternalSubscription({ ...deps, logger }, id, { operator: "bench" })).subscriptionId,
    );
  });
  return { clockId: clock.id, limioIds };
}

/** The clock advanced past the renewal: the storm begins. */
export const advancePastRenewal = (stripe: Stripe, clockId: string) =>
  stripe.testHelpers.testClocks.advance(clockId, { frozen_time: RENEWAL + DAY });

/** How many of `ids` show the new term, the paid renewal and the next scheduled charge. */
export async function converged(store: Store, ids: string[]): Promise<number> {
  return store.db.subscription.count({
    where: {
      id: { in: ids },
      termStart: new Date(RENEWAL * 1000),
      termEnd: new Date(NEXT * 1000),
      AND: [
        { paymentSchedules: { some: { status: "paid", periodStart: new Date(RENEWAL * 1000) } } },
        { paymentSchedules: { some: { status: "scheduled", periodStart: new Date(NEXT * 1000) } } },
      ],
    },
  });
}

/** One more process of a bridge service (a replica: same group, same env), on its own ops port. */
export type Replica = { service: Service; opsPort: number; metrics(): Promise<string> };

/**
 * Starts `count` more replicas of the writer or the sync-consumer next to `services` (which runs
 * the first of each), with the same Kafka, database and Stripe key, and waits for their health.
 */
export async function startReplicas(
  services: BridgeServices,
  app: "stripe-writer" | "sync-consumer",
  count: number,
  env: Record<string, string> = {},
): Promise<Replica[]> {
  const logDir = mkdtempSync(path.join(tmpdir(), `bench-${app}-`));
  const ports = await freePorts(count);
  const replicas = ports.map((opsPort, i): Replica => {
    const service = startService({
      name: `${app}-bench-${i + 1}`,
      command: process.execPath,
      args: [path.join(root, "apps", app, "src", "main.ts")],
      logFile: path.join(logDir, `${app}-${i + 1}.log`),
      cwd: root,
      env: {
        ...process.env,
        LOG_LEVEL: "warn",
        STRIPE_SECRET_KEY: services.stripeSecretKey,
        STRIPE_API_URL: services.stripeApiUrl,
        ...env,
        OPS_PORT: String(opsPort),
      },
      stopSignal: "SIGTERM",
      stopTimeoutMs: 15_000,
    });
    const metrics = async () => (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    return { service, opsPort, metrics };
  });
  try {
    await Promise.all(
      replicas.map((r) =>
        waitFor(
          async () => {
            if (r.service.hasExited()) throw new Error(`${r.service.logFile}: exited during startup`);
            return fetch(`http://127.0.0.1:${r.opsPort}/healthz`).then(
              (res) => res.ok,
              () => false,
            );
          },
          120_000,
          `${app} replica on ${r.opsPort} to be healthy`,
          200,
        ),
      ),
    );
  } catch (error) {
    await stopReplicas(replicas);
    throw error;
  }
  return replicas;
}

export async function stopReplicas(replicas: Replica[]): Promise<void> {
  await Promise.allSettled(replicas.map((r) => r.service.stop()));
}
