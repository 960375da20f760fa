// A small supervisor for cross-service fault tests: the stripe-emulator, ingest-gateway,
// stripe-writer and sync-consumer run as separate processes (node apps/<app>/src/main.ts, each
// with its own env, as scripts/run-local.ts starts them) on free ports. One can be SIGKILLed and
// started again; each start's output goes to a log file the test can read; stop() ends them all.
//
// No orphans: every service runs in its own process group with a watchdog (local-infra's
// startService) that stops it once the test process is gone, even after a SIGKILL of the runner.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  freePorts,
  type Service,
  serviceNodeFlags,
  signalGroup,
  startService,
  tailFile,
} from "@bridge/local-infra";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const serviceNames = ["emulator", "gateway", "writer", "sync"] as const;
type ServiceName = (typeof serviceNames)[number];

const apps: Record<ServiceName, string> = {
  emulator: "stripe-emulator",
  gateway: "ingest-gateway",
  writer: "stripe-writer",
  sync: "sync-consumer",
};

// Test-only credentials: the emulator accepts any test key; none of these reach real Stripe.
const credentials = {
  apiKey: "fault-tests-key-0123456789",
  webhookSecret: "whsec_fault_tests_only",
  stripeKey: "sk_test_fault_tests",
};

export type ServicesOptions = {
  kafkaBrokers: string;
  databaseUrl: string;
  /** Extra env per service (e.g. STRIPE_RATE_LIMIT_PER_SECOND for the writer). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** pino level of every service (default warn: the logs stay small at 500 orders). */
  logLevel?: string;
  /** How long a start may take to answer its health check. */
  startTimeoutMs?: number;
};

type ServiceExit = { name: ServiceName; code: number | null; signal: NodeJS.Signals | null };

export type BridgeServices = {
  gatewayUrl: string;
  stripeApiUrl: string;
  apiKey: string;
  stripeSecretKey: string;
  ports: Record<ServiceName, number>;
  /** Starts per service beyond the first (restarts after a kill). */
  restarts: Record<ServiceName, number>;
  /** Exits this supervisor did not cause (a crash): the test decides what they mean. */
  unexpectedExits: ServiceExit[];
  isRunning(name: ServiceName): boolean;
  /** SIGKILL the service's process group (no clean shutdown) and wait until it is gone. */
  kill(name: ServiceName): Promise<void>;
  /** Starts a stopped service on its same port and env and waits for its health check. */
  start(name: ServiceName): Promise<void>;
  /** kill + start. */
  restart(name: ServiceName): Promise<void>;
  /** Everything the service wrote across all its starts. */
  output(name: ServiceName): string;
  /** Prometheus text of a service's /metrics (writer, sync: ops port; gateway: its own port). */
  metrics(name: Exclude<ServiceName, "emulator">): Promise<string>;
  /** Pids of the running services and their watchdogs. */
  pids(): number[];
  /** SIGTERM every service (SIGKILL after 15 s), wait for all, remove the logs. Idempotent. */
  stop(): Promise<void>;
};

export async function startBridgeServices(options: ServicesOptions): Promise<BridgeServices> {
  const [emulatorPort, gatewayPort, writerOps, syncOps] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const ports: Record<ServiceName, number> = {
    emulator: emulatorPort,
    gateway: gatewayPort,
    writer: writerOps,
    sync: syncOps,
  };
  const logDir = mkdtempSync(path.join(tmpdir(), "bridge-services-"));
  const stripeApiUrl = `http://127.0.0.1:${emulatorPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const common = {
    KAFKA_BROKERS: options.kafkaBrokers,
    DATABASE_URL: options.databaseUrl,
    LOG_LEVEL: options.logLevel ?? "warn",
  };
  const stripe = { STRIPE_SECRET_KEY: credentials.stripeKey, STRIPE_API_URL: stripeApiUrl };
  const envs: Record<ServiceName, Record<string, string>> = {
    emulator: {
      PORT: String(emulatorPort),
      HOST: "127.0.0.1",
      STRIPE_EMULATOR_WEBHOOK_URL: `${gatewayUrl}/webhooks/stripe`,
      STRIPE_EMULATOR_WEBHOOK_SECRET: credentials.webhookSecret,
      LOG_LEVEL: common.LOG_LEVEL,
      ...options.env?.emulator,
    },
    gateway: {
      ...common,
      PORT: String(gatewayPort),
      HOST: "127.0.0.1",
      API_KEYS: `faults:${credentials.apiKey}:orders+sync+read`,
      STRIPE_WEBHOOK_SECRETS: credentials.webhookSecret,
      ...options.env?.gateway,
    },
    writer: { ...common, ...stripe, OPS_PORT: String(writerOps), ...options.env?.writer },
    sync: { ...common, ...stripe, OPS_PORT: String(syncOps), ...options.env?.sync },
  };
  const healthUrls: Record<ServiceName, string> = {
    emulator: `${stripeApiUrl}/_emulator/health`,
    gateway: `${gatewayUrl}/healthz`,
    writer: `http://127.0.0.1:${writerOps}/healthz`,
    sync: `http://127.0.0.1:${syncOps}/healthz`,
  };

  const running = new Map<ServiceName, Service>();
  const expectedExit = new Set<Service>();
  const restarts: Record<ServiceName, number> = { emulator: 0, gateway: 0, writer: 0, sync: 0 };
  const starts: Record<ServiceName, number> = { emulator: 0, gateway: 0, writer: 0, sync: 0 };
  const unexpectedExits: ServiceExit[] = [];
  let stopping = false;

  const spawnService = (name: ServiceName): Service => {
    starts[name] += 1;
    const service = startService({
      name,
      command: process.execPath,
      // The bridge's services run as the image runs them; the emulator, Stripe's stand-in, unbounded.
      args: [
        ...(name === "emulator" ? [] : serviceNodeFlags),
        path.join(root, "apps", apps[name], "src", "main.ts"),
      ],
      logFile: path.join(logDir, `${name}-${String(starts[name]).padStart(2, "0")}.log`),
      cwd: root,
      env: { ...process.env, ...envs[name] },
      stopSignal: "SIGTERM",
      stopTimeoutMs: 15_000,
    });
    void service.exited.then(({ code, signal }) => {
      if (running.get(name) === service) running.delete(name);
      if (!expectedExit.has(service) && !stopping) unexpectedExits.push({ name, code, signal });
    });
    running.set(name, service);
    return service;
  };

  const waitHealthy = async (name: ServiceName, service: Service) => {
    const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
    for (;;) {
      if (service.hasExited())
        throw new Error(`${name} exited during startup; its log ends with:\n${tailFile(service.logFile)}`);
      try {
        const response = await fetch(healthUrls[name], { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `${name} did not answer ${healthUrls[name]}; its log ends with:\n${tailFile(service.logFile)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };

  const start = async (name: ServiceName) => {
    if (running.has(name)) return;
    if (starts[name] > 0) restarts[name] += 1;
    await waitHealthy(name, spawnService(name));
  };

  const kill = async (name: ServiceName) => {
    const service = running.get(name);
    if (!service) return;
    expectedExit.add(service);
    signalGroup(service.pid, "SIGKILL");
    await service.exited;
    await service.stop(); // already gone: reaps the group and the watchdog
    running.delete(name);
  };

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      const all = [...running.values()];
      for (const service of all) expectedExit.add(service);
      // The gateway first (no new work), the emulator last (the others may still call it).
      const order: ServiceName[] = ["gateway", "writer", "sync", "emulator"];
      for (const names of [order.slice(0, 3), order.slice(3)]) {
        await Promise.allSettled(
          names.map((name) =>
            running
              .get(name)
              ?.stop()
              .then(() => running.delete(name)),
          ),
        );
      }
      rmSync(logDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const services: BridgeServices = {
    gatewayUrl,
    stripeApiUrl,
    apiKey: credentials.apiKey,
    stripeSecretKey: credentials.stripeKey,
    ports,
    restarts,
    unexpectedExits,
    isRunning: (name) => running.has(name),
    kill,
    start,
    async restart(name) {
      await kill(name);
      await start(name);
    },
    output(name) {
      let files: string[] = [];
      try {
        files = readdirSync(logDir).filter((f) => f.startsWith(`${name}-`));
      } catch {
        return "";
      }
      return files
        .sort()
        .map((f) => readFileSync(path.join(logDir, f), "utf8"))
        .join("");
    },
    async metrics(name) {
      const response = await fetch(`http://127.0.0.1:${ports[name]}/metrics`);
      return response.text();
    },
    pids: () => [...running.values()].flatMap((s) => [s.pid, s.watchdogPid]),
    stop,
  };

  try {
    // One after the other: the emulator (the writer and sync call it at once), then the gateway,
    // which creates the bridge topics. Started together on an empty broker, the writer can die
    // at boot on "This server does not host this topic-partition" while another service's
    // topic creation is still propagating (seen once; an orchestrator would restart it).
    for (const name of ["emulator", "gateway", "writer", "sync"] as const) await start(name);
  } catch (error) {
    await stop();
    throw error;
  }
  return services;
}

/** Sum of a Prometheus counter's samples in `text`, optionally only samples whose labels match. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}
