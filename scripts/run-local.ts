// The whole bridge on one machine with embedded defaults: Kafka and Postgres from local-infra,
// migrations applied, the catalog loaded, then the stripe-emulator, ingest-gateway, stripe-writer
// and sync-consumer as separate processes. Prints where each listens.
//   - Kafka's and Postgres' data live in BRIDGE_DATA_DIR (default .data/) on fixed ports, so
//     queued orders and stored subscriptions survive a restart; `--ephemeral` runs on throwaway
//     data and free ports instead.
//   - A service that exits is started again with backoff (1 s doubling to 30 s), and says so.
//   - Ctrl-C (or SIGTERM) stops everything it started; a part that cannot start ends the run
//     with one line saying which and why.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Infra,
  redactUrl,
  type StartInfraOptions,
  serviceNodeFlags,
  startInfra,
} from "@bridge/local-infra";
import { applyMigrations } from "@bridge/store/migrations";
import { catalogSource, seedCatalog } from "./lib/catalog.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const env = process.env;
const ports = {
  gateway: Number(env.GATEWAY_PORT ?? 8080),
  emulator: Number(env.EMULATOR_PORT ?? 12111),
  writerOps: Number(env.WRITER_OPS_PORT ?? 9101),
  syncOps: Number(env.SYNC_OPS_PORT ?? 9102),
};
const ephemeral = process.argv.includes("--ephemeral");
const persistent: StartInfraOptions["persistent"] = ephemeral
  ? undefined
  : {
      dataDir: path.resolve(root, env.BRIDGE_DATA_DIR ?? ".data"),
      kafkaPort: Number(env.LOCAL_KAFKA_PORT ?? 19092),
      kafkaControllerPort: Number(env.LOCAL_KAFKA_CONTROLLER_PORT ?? 19093),
      postgresPort: Number(env.LOCAL_POSTGRES_PORT ?? 15432),
    };
// Local-only credentials: the emulator accepts any test key; these never reach real Stripe.
const local = {
  apiKey: env.LOCAL_API_KEY ?? "local-dev-key-change-me",
  webhookSecret: "whsec_local_emulator_only",
  stripeKey: "sk_test_local_emulator",
  /** Seals waiting orders' confirmation secrets for GET (decision 018); a local-only value. */
  orderSecretKey: env.ORDER_SECRET_KEY ?? Buffer.alloc(32, 7).toString("base64"),
};
/** A service that ran this long before exiting has recovered: its backoff starts again at 1 s. */
const STABLE_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

type App = {
  name: string;
  env: Record<string, string>;
  child?: ChildProcess;
  startedAt: number;
  failures: number;
  restarts: number;
  restartTimer?: NodeJS.Timeout;
};

const apps: App[] = [];
let infra: Infra | undefined;
let stopping = false;

const log = (message: string) => process.stderr.write(`[run-local] ${message}\n`);
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0];

/** Stops everything this run started; `lastLine` (why the run ends) is printed after it all. */
async function stopAll(code: number, lastLine?: string) {
  if (stopping) return;
  stopping = true;
  log("stopping services");
  for (const app of apps) clearTimeout(app.restartTimer);
  await Promise.all(apps.map((app) => stopChild(app.child)));
  log("stopping Kafka and Postgres");
  await infra?.stop().catch((error: unknown) => log(`could not stop Kafka or Postgres: ${firstLine(error)}`));
  log("stopped");
  if (lastLine) log(lastLine);
  process.exit(code);
}

async function main() {
  const started = Date.now();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stopAll(0));

  infra = await startInfra(persistent ? { persistent } : {});
  await applyMigrations(infra.databaseUrl).catch((error: unknown) => {
    throw new Error(`the database migrations failed: ${firstLine(error)}`);
  });
  const offers = await seedCatalog(infra.databaseUrl);
  const common = {
    KAFKA_BROKERS: infra.kafkaBrokers,
    DATABASE_URL: infra.databaseUrl,
    LOG_LEVEL: env.LOG_LEVEL ?? "info",
  };
  const stripe = {
    STRIPE_SECRET_KEY: local.stripeKey,
    STRIPE_API_URL: `http://127.0.0.1:${ports.emulator}`,
  };
  addApp("stripe-emulator", {
    PORT: String(ports.emulator),
    HOST: "127.0.0.1",
    STRIPE_EMULATOR_WEBHOOK_URL: `http://127.0.0.1:${ports.gateway}/webhooks/stripe`,
    STRIPE_EMULATOR_WEBHOOK_SECRET: local.webhookSecret,
  });
  addApp("ingest-gateway", {
    ...common,
    PORT: String(ports.gateway),
    HOST: "127.0.0.1",
    API_KEYS: `local:${local.apiKey}:orders+sync+read+ops+catalog`,
    STRIPE_WEBHOOK_SECRETS: local.webhookSecret,
    // A local run: the published example key and webhook secret are fine here (decision 013).
    ALLOW_EXAMPLE_SECRETS: "true",
    ORDER_SECRET_KEY: local.orderSecretKey,
  });
  // The gateway creates every bridge topic at boot; on a fresh broker the consumers started at
  // the same moment raced it to create the same topics and exited, so they start after it.
  await Promise.all([
    waitForHttp("ingest-gateway", `http://127.0.0.1:${ports.gateway}/healthz`),
    waitForHttp("stripe-emulator", `http://127.0.0.1:${ports.emulator}/_emulator/health`),
  ]);
  addApp("stripe-writer", {
    ...common,
    ...stripe,
    OPS_PORT: String(ports.writerOps),
    ORDER_SECRET_KEY: local.orderSecretKey,
  });
  addApp("sync-consumer", { ...common, ...stripe, OPS_PORT: String(ports.syncOps) });
  await Promise.all([
    waitForHttp("stripe-writer", `http://127.0.0.1:${ports.writerOps}/healthz`),
    waitForHttp("sync-consumer", `http://127.0.0.1:${ports.syncOps}/healthz`),
  ]);
  if (stopping) return;

  const data = persistent
    ? `data in ${persistent.dataDir} (--ephemeral for a throwaway run)`
    : "throwaway data";
  process.stdout.write(
    [
      "",
      "Limio ⇄ Stripe bridge is running (Ctrl-C stops everything)",
      `  ingest-gateway    http://127.0.0.1:${ports.gateway}   (docs: /docs, metrics: /metrics)`,
      `  stripe-emulator   http://127.0.0.1:${ports.emulator}  (Stripe API; control routes under /_emulator)`,
      `  stripe-writer     http://127.0.0.1:${ports.writerOps}   (healthz, readyz, metrics)`,
      `  sync-consumer     http://127.0.0.1:${ports.syncOps}   (healthz, readyz, metrics)`,
      `  Kafka             ${infra.kafkaBrokers}   (${infra.kafkaVersion}, ${infra.mode.kafka})`,
      `  Postgres          ${redactUrl(infra.databaseUrl)}   (${infra.postgresVersion.split(" on ")[0]}, ${infra.mode.postgres})`,
      `  storage           ${infra.mode.kafka === "local" || infra.mode.postgres === "local" ? data : "as provided"}`,
      `  local API key     ${local.apiKey}`,
      `  catalog           ${offers} offers from ${catalogSource()}`,
      `  bridge CLI        DATABASE_URL=${redactUrl(infra.databaseUrl)} KAFKA_BROKERS=${infra.kafkaBrokers} apps/bridge-cli/bin/bridge help`,
      "",
      "Try:",
      `  curl -s http://127.0.0.1:${ports.gateway}/readyz`,
      `  curl -s -X POST http://127.0.0.1:${ports.gateway}/api/orders -H 'authorization: Bearer ${local.apiKey}' \\`,
      "       -H 'content-type: application/json' --data @test/fixtures/limio/new.json",
      `  (up in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      "",
    ].join("\n"),
  );
}

function addApp(name: string, appEnv: Record<string, string>) {
  const app: App = { name, env: appEnv, startedAt: 0, failures: 0, restarts: 0 };
  apps.push(app);
  startApp(app);
}

function startApp(app: App) {
  app.startedAt = Date.now();
  // The bridge's services run as the image runs them; the emulator, Stripe's stand-in, unbounded.
  const flags = app.name === "stripe-emulator" ? [] : serviceNodeFlags;
  const child = spawn(process.execPath, [...flags, path.join(root, "apps", app.name, "src", "main.ts")], {
    cwd: root,
    env: { ...env, ...app.env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("error", (error) => log(`${app.name} could not be started: ${error.message}`));
  child.on("exit", (code, signal) => {
    if (stopping) return;
    if (Date.now() - app.startedAt > STABLE_AFTER_MS) app.failures = 0;
    app.failures += 1;
    app.restarts += 1;
    const delayMs = Math.min(1000 * 2 ** (app.failures - 1), MAX_BACKOFF_MS);
    log(
      `${app.name} exited (${signal ?? `code ${code}`}); restarting it in ${delayMs / 1000} s (restart ${app.restarts})`,
    );
    app.restartTimer = setTimeout(() => {
      if (!stopping) startApp(app);
    }, delayMs);
  });
  app.child = child;
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function waitForHttp(name: string, url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const restarts = apps.find((app) => app.name === name)?.restarts ?? 0;
  throw new Error(
    `${name} did not answer ${url} within ${timeoutMs / 1000} s${restarts ? ` (it exited ${restarts} times; its output is above)` : ""}`,
  );
}

try {
  await main();
} catch (error) {
  // One clear line, last (the parts logged their details above), never a stack trace.
  await stopAll(1, `could not start the bridge: ${firstLine(error)}`);
}
