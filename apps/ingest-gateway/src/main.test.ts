import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freshDatabase, kafkaBrokers } from "@bridge/local-infra/testing";
import { afterEach, describe, expect, it } from "vitest";
import { keys, until, webhookSecrets } from "../test/support.ts";

// main.ts as an orchestrator runs it: configuration from the environment, a clean exit 0 on
// SIGTERM (close-with-grace), and a refusal to start with a secret this repository publishes.

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

function spawnGateway(env: Record<string, string>) {
  const lines: string[] = [];
  const process_ = spawn(process.execPath, [join(import.meta.dirname, "main.ts")], {
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  process_.stdout?.on("data", (b: Buffer) => lines.push(...b.toString("utf8").split("\n").filter(Boolean)));
  process_.stderr?.on("data", (b: Buffer) => lines.push(b.toString("utf8")));
  child = process_;
  return { process: process_, lines };
}

describe("main.ts", () => {
  it("starts, is ready, and exits 0 on SIGTERM", async () => {
    const { process: gateway, lines } = spawnGateway({
      KAFKA_BROKERS: kafkaBrokers().join(","),
      DATABASE_URL: await freshDatabase("gateway-main"),
      API_KEYS: `shop:${keys.shop}:orders`,
      STRIPE_WEBHOOK_SECRETS: webhookSecrets.current,
      KAFKA_TOPIC_PARTITIONS: "1",
    });
    let url = "";
    await until(
      () => {
        const listening = lines.find((l) => l.includes("ingest-gateway listening"));
        if (listening) url = (JSON.parse(listening) as { url: string }).url;
        return url !== "" || gateway.exitCode !== null;
      },
      60_000,
      "ingest-gateway listening",
    );
    expect(gateway.exitCode, lines.join("\n")).toBeNull();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const exited = new Promise<number | null>((resolve) => gateway.once("exit", (code) => resolve(code)));
    gateway.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  }, 90_000);

  it("refuses to start with the published example API key outside a local run", async () => {
    const { process: gateway, lines } = spawnGateway({
      KAFKA_BROKERS: "127.0.0.1:1",
      DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none",
      API_KEYS: "local:local-dev-key-change-me:orders",
      STRIPE_WEBHOOK_SECRETS: webhookSecrets.current,
    });
    const code = await new Promise<number | null>((resolve) => gateway.once("exit", (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(lines.join("\n")).toMatch(/API_KEYS: uses a secret published in this repository/);
    expect(lines.join("\n")).not.toContain("local-dev-key-change-me");
  });
});
