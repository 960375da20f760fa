// Runs ./scripts/up.sh (the README's run command) as a user does, on free ports, and reads its
// output: for the tests of the local run's restarts, persistence and private-folder clones.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { resolve as resolvePath } from "node:path";
import { freePorts } from "@bridge/local-infra";
import { createStripeClient } from "@bridge/stripe-client";
import { newOrderBody, shopCard } from "../../scripts/lib/shop.ts";

export type UpPorts = Record<
  | "GATEWAY_PORT"
  | "EMULATOR_PORT"
  | "WRITER_OPS_PORT"
  | "SYNC_OPS_PORT"
  | "LOCAL_KAFKA_PORT"
  | "LOCAL_KAFKA_CONTROLLER_PORT"
  | "LOCAL_POSTGRES_PORT",
  string
>;

export async function upPorts(): Promise<UpPorts> {
  const [g, e, w, s, k, kc, p] = (await freePorts(7)).map(String) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    GATEWAY_PORT: g,
    EMULATOR_PORT: e,
    WRITER_OPS_PORT: w,
    SYNC_OPS_PORT: s,
    LOCAL_KAFKA_PORT: k,
    LOCAL_KAFKA_CONTROLLER_PORT: kc,
    LOCAL_POSTGRES_PORT: p,
  };
}

export type Up = {
  child: ChildProcess;
  gatewayUrl: string;
  stripeApiUrl: string;
  stdout(): string;
  stderr(): string;
  /** Waits until stderr contains `text` (or throws with stderr's tail after `timeoutMs`). */
  waitForStderr(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
};

/** Starts `<cwd>/scripts/up.sh` with `args` and waits for its "is running" banner. */
export async function startUp(
  cwd: string,
  ports: UpPorts,
  extraEnv: Record<string, string> = {},
  args: string[] = [],
): Promise<Up> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...ports,
    ...extraEnv,
    LOG_LEVEL: "warn",
    BRIDGE_INFRA: "local",
  };
  delete env.KAFKA_BROKERS; // the run starts its own Kafka and Postgres, as a user's does
  delete env.DATABASE_URL;
  const child = spawn(resolvePath(cwd, "scripts/up.sh"), args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: false,
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitFor = async (read: () => string, text: string | RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    const found = () => (typeof text === "string" ? read().includes(text) : text.test(read()));
    while (!found()) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(
          `up.sh never printed ${text}; its stderr ends with:\n${err.slice(-3000)}\nits stdout ends with:\n${out.slice(-3000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await waitFor(() => out, "is running", 240_000).catch(async (error: unknown) => {
    child.kill("SIGINT");
    await exited;
    throw error;
  });
  return {
    child,
    gatewayUrl: `http://127.0.0.1:${ports.GATEWAY_PORT}`,
    stripeApiUrl: `http://127.0.0.1:${ports.EMULATOR_PORT}`,
    stdout: () => out,
    stderr: () => err,
    waitForStderr: (text, timeoutMs = 60_000) => waitFor(() => err, text, timeoutMs),
    async stop() {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}

/** Pid of the service `name` that run-local started (its child running apps/<name>/src/main.ts). */
export function servicePid(up: Up, name: string): number {
  const lines = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(up.child.pid)])
    .toString()
    .trim()
    .split("\n");
  const line = lines.find((l) => l.includes(`apps/${name}/src/main.ts`));
  if (!line) throw new Error(`no ${name} process under up.sh (${lines.join("; ")})`);
  return Number(line.trim().split(/\s+/)[0]);
}

const apiKey = "local-dev-key-change-me";

/** Posts a new order through the gateway; returns its id and the subscription it creates. */
export async function postOrder(
  up: Up,
  label: string,
): Promise<{ id: string; subscriptionId: string; status: string }> {
  const { stripe } = createStripeClient({
    secretKey: "sk_test_up",
    apiUrl: up.stripeApiUrl,
    ratePerSecond: 100,
  });
  const email = `${label}.${Date.now()}@example.com`;
  const response = await fetch(`${up.gatewayUrl}/api/orders`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      ...newOrderBody(email, await shopCard(stripe)),
      external_id: `${label}-${Date.now()}`,
      process_immediately: true,
    }),
  });
  const json = (await response.json()) as { id: string; subscriptionId: string; status: string };
  if (response.status >= 300)
    throw new Error(`POST /api/orders → ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** GET on the gateway's read API with the local key. */
export async function getJson(
  up: Up,
  url: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${up.gatewayUrl}${url}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
