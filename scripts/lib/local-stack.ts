// Starts the whole bridge with scripts/run-local.ts as a child process on free ports, the way a
// user runs it, for the demo and the cross-service tests. Kafka and Postgres come from
// KAFKA_BROKERS / DATABASE_URL in `env` when set (the test harness), else run-local starts them.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "@bridge/local-infra";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export type LocalStack = {
  gatewayUrl: string;
  stripeApiUrl: string;
  /** The stripe-writer's and sync-consumer's ops servers (healthz, readyz, metrics). */
  writerOpsUrl: string;
  syncOpsUrl: string;
  apiKey: string;
  /** Everything the services wrote to stdout (JSON log lines), for tests that read logs. */
  output(): string;
  stop(): Promise<number | null>;
};

export async function startLocalStack(
  options: { env?: Record<string, string>; logLevel?: string } = {},
): Promise<LocalStack> {
  const [gateway, emulator, writerOps, syncOps] = await freePorts(4);
  const child: ChildProcess = spawn(process.execPath, [path.join(root, "scripts", "run-local.ts")], {
    cwd: root,
    env: {
      ...process.env,
      ...options.env,
      GATEWAY_PORT: String(gateway),
      EMULATOR_PORT: String(emulator),
      WRITER_OPS_PORT: String(writerOps),
      SYNC_OPS_PORT: String(syncOps),
      LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes("is running")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the local stack did not start; its stderr ends with:\n${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    gatewayUrl: `http://127.0.0.1:${gateway}`,
    stripeApiUrl: `http://127.0.0.1:${emulator}`,
    writerOpsUrl: `http://127.0.0.1:${writerOps}`,
    syncOpsUrl: `http://127.0.0.1:${syncOps}`,
    apiKey: "local-dev-key-change-me",
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}
