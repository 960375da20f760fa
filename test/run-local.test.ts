// The README's run command, as a user runs it: scripts/run-local.ts starts the four services as
// separate processes, prints its banner, and stops everything on Ctrl-C (SIGINT). Kafka and
// Postgres come from this test run (run-local takes KAFKA_BROKERS / DATABASE_URL like the harness).
import { spawn } from "node:child_process";
import { freePorts } from "@bridge/local-infra";
import { freshDatabase, kafkaBrokers } from "@bridge/local-infra/testing";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("scripts/run-local.ts (the README run command)", () => {
  it("brings every service up, prints where each listens, and stops them all on SIGINT", async () => {
    const [gateway, emulator, writerOps, syncOps] = await freePorts(4);
    const child = spawn(process.execPath, ["scripts/run-local.ts"], {
      cwd: root,
      env: {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        DATABASE_URL: await freshDatabase("runlocal"),
        GATEWAY_PORT: String(gateway),
        EMULATOR_PORT: String(emulator),
        WRITER_OPS_PORT: String(writerOps),
        SYNC_OPS_PORT: String(syncOps),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    const deadline = Date.now() + 90_000;
    while (!stdout.includes("is running") && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(stdout, `run-local did not come up; its stderr ends with:\n${stderr}`).toContain("is running");
    for (const port of [gateway, emulator, writerOps, syncOps])
      expect(stdout).toContain(`http://127.0.0.1:${port}`);
    expect(stdout).toMatch(/catalog +\d+ offers from the demo catalog/);

    const urls = [
      `http://127.0.0.1:${gateway}/healthz`,
      `http://127.0.0.1:${emulator}/_emulator/health`,
      `http://127.0.0.1:${writerOps}/healthz`,
      `http://127.0.0.1:${syncOps}/healthz`,
    ];
    for (const url of urls) expect((await fetch(url)).status, url).toBe(200);

    // The services are this process's children; remember them to prove none outlives the stop.
    const { execFileSync } = await import("node:child_process");
    const servicePids = execFileSync("pgrep", ["-P", String(child.pid)])
      .toString()
      .trim()
      .split("\n")
      .map(Number);
    expect(servicePids.length).toBeGreaterThanOrEqual(4);

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(servicePids.filter(isAlive)).toEqual([]);
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();
  }, 150_000);
});
