// The whole bridge on one machine with embedded defaults: Kafka and Postgres from local-infra,
// migrations applied, then the stripe-emulator, ingest-gateway, stripe-writer and sync-consumer as
// separate processes. Prints where each listens; Ctrl-C (or SIGTERM) stops everything it started.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { demoCatalogUrl } from "@bridge/domain";
import { startInfra } from "@bridge/local-infra";
import { createStore, loadCatalog } from "@bridge/store";
import { applyMigrations } from "@bridge/store/migrations";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ports = {
  gateway: Number(process.env.GATEWAY_PORT ?? 8080),
  emulator: Number(process.env.EMULATOR_PORT ?? 12111),
  writerOps: Number(process.env.WRITER_OPS_PORT ?? 9101),
  syncOps: Number(process.env.SYNC_OPS_PORT ?? 9102),
};
// Local-only credentials: the emulator accepts any test key; these never reach real Stripe.
const local = {
  apiKey: process.env.LOCAL_API_KEY ?? "local-dev-key-change-me",
  webhookSecret: "whsec_local_emulator_only",
  stripeKey: "sk_test_local_emulator",
};

const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

const log = (message: string) => process.stderr.write(`[run-local] ${message}\n`);

async function main() {
  const started = Date.now();
  const infra = await startInfra();
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log("stopping services");
    await Promise.all(children.map(({ child }) => stopChild(child)));
    log("stopping Kafka and Postgres");
    await infra.stop();
    log("stopped");
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stopAll(0));

  let offers = 0;
  try {
    await applyMigrations(infra.databaseUrl);
    offers = await seedCatalog(infra.databaseUrl);
    const common = {
      KAFKA_BROKERS: infra.kafkaBrokers,
      DATABASE_URL: infra.databaseUrl,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    };
    const stripe = {
      STRIPE_SECRET_KEY: local.stripeKey,
      STRIPE_API_URL: `http://127.0.0.1:${ports.emulator}`,
    };
    startApp("stripe-emulator", {
      PORT: String(ports.emulator),
      HOST: "127.0.0.1",
      STRIPE_EMULATOR_WEBHOOK_URL: `http://127.0.0.1:${ports.gateway}/webhooks/stripe`,
      STRIPE_EMULATOR_WEBHOOK_SECRET: local.webhookSecret,
    });
    startApp("ingest-gateway", {
      ...common,
      PORT: String(ports.gateway),
      HOST: "127.0.0.1",
      API_KEYS: `local:${local.apiKey}:orders+sync+read`,
      STRIPE_WEBHOOK_SECRETS: local.webhookSecret,
      // A local run: the published example key and webhook secret are fine here (decision 013).
      ALLOW_EXAMPLE_SECRETS: "true",
    });
    startApp("stripe-writer", { ...common, ...stripe, OPS_PORT: String(ports.writerOps) });
    startApp("sync-consumer", { ...common, ...stripe, OPS_PORT: String(ports.syncOps) });
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${ports.gateway}/healthz`),
      waitForHttp(`http://127.0.0.1:${ports.writerOps}/healthz`),
      waitForHttp(`http://127.0.0.1:${ports.syncOps}/healthz`),
      waitForHttp(`http://127.0.0.1:${ports.emulator}/_emulator/health`),
    ]);
  } catch (error) {
    log(`failed to start: ${(error as Error).message}`);
    await stopAll(1);
    return;
  }

  process.stdout.write(
    [
      "",
      "Limio ⇄ Stripe bridge is running (Ctrl-C stops everything)",
      `  ingest-gateway    http://127.0.0.1:${ports.gateway}   (docs: /docs, metrics: /metrics)`,
      `  stripe-emulator   http://127.0.0.1:${ports.emulator}  (Stripe API; control routes under /_emulator)`,
      `  stripe-writer     http://127.0.0.1:${ports.writerOps}   (healthz, readyz, metrics)`,
      `  sync-consumer     http://127.0.0.1:${ports.syncOps}   (healthz, readyz, metrics)`,
      `  Kafka             ${infra.kafkaBrokers}   (${infra.kafkaVersion}, ${infra.mode.kafka})`,
      `  Postgres          ${redact(infra.databaseUrl)}   (${infra.postgresVersion.split(" on ")[0]}, ${infra.mode.postgres})`,
      `  local API key     ${local.apiKey}`,
      `  catalog           ${offers} offers from ${process.env.CATALOG_FILE ?? "the demo catalog"}`,
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

/** Load the catalog (CATALOG_FILE, else the demo catalog) so the writer can price orders. */
async function seedCatalog(databaseUrl: string): Promise<number> {
  const file = process.env.CATALOG_FILE ?? demoCatalogUrl;
  const store = createStore(databaseUrl, { poolSize: 1 });
  try {
    return await loadCatalog(store.db, JSON.parse(await readFile(file, "utf8")));
  } finally {
    await store.close();
  }
}

function startApp(name: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(root, "apps", name, "src", "main.ts")], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping everything`);
      process.kill(process.pid, "SIGTERM");
    }
  });
  children.push({ name, child });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function waitForHttp(url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) throw new Error("stopping");
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function redact(url: string) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

await main();
