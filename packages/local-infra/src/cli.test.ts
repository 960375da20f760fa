// End to end: the CLI starts a real local Kafka and Postgres (the path taken on machines without
// Docker) and nothing it started survives it, whether it is stopped or SIGKILLed.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, waitUntilGone } from "./processes.ts";

const CLI = fileURLToPath(new URL("./cli.ts", import.meta.url));
const started: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

interface Ready {
  child: ChildProcessWithoutNullStreams;
  vars: Record<string, string>;
  pids: number[];
  workDirs: string[];
  stderr: () => string;
}

async function startCli(): Promise<Ready> {
  const env: NodeJS.ProcessEnv = { ...process.env, BRIDGE_INFRA: "local" };
  delete env.KAFKA_BROKERS;
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [CLI], { env, stdio: ["pipe", "pipe", "pipe"] });
  started.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes("# local-infra ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`cli exited (${code}) before ready:\n${stderr}`)));
  });
  const vars = Object.fromEntries(
    stdout
      .split("\n")
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  const pids = (/^# pids: (.*)$/m.exec(stdout)?.[1] ?? "").split(" ").map(Number);
  const workDirs = [...stderr.matchAll(/log (\/\S+)\/(?:broker|postgres)\.log/g)].map((m) => m[1] as string);
  return { child, vars, pids, workDirs, stderr: () => stderr };
}

async function assertServing(vars: Record<string, string>): Promise<void> {
  const admin = new Kafka({ brokers: [vars.KAFKA_BROKERS ?? ""], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  expect((await admin.describeCluster()).brokers).toHaveLength(1);
  await admin.disconnect();
  const client = new pg.Client({ connectionString: vars.DATABASE_URL });
  await client.connect();
  expect((await client.query("select version()")).rows[0].version).toMatch(/^PostgreSQL 18/);
  await client.end();
}

describe("cli.ts (local Kafka + Postgres)", () => {
  it("prints shell-eval-able addresses, serves them, and stops everything on SIGTERM", async () => {
    const cli = await startCli();
    expect(cli.vars.KAFKA_BROKERS).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(cli.vars.DATABASE_URL).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    expect(cli.pids).toHaveLength(4);
    expect(cli.pids.every(isAlive)).toBe(true);
    expect(cli.workDirs).toHaveLength(2);
    await assertServing(cli.vars);

    const exited = new Promise<number | null>((resolve) => cli.child.once("exit", resolve));
    cli.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(cli.pids.filter(isAlive)).toEqual([]);
    expect(cli.workDirs.filter((dir) => existsSync(dir))).toEqual([]);
    expect(cli.stderr()).toContain("stopped");
  });

  it("leaves no broker, postgres or scratch directory behind when it is SIGKILLed", async () => {
    const cli = await startCli();
    expect(cli.pids.every(isAlive)).toBe(true);

    const exited = new Promise((resolve) => cli.child.once("exit", resolve));
    cli.child.kill("SIGKILL");
    await exited;

    // Watchdogs notice within a second, then give Kafka a controlled shutdown (SIGKILL after 20 s).
    await waitUntilGone(cli.pids, 30_000);
    expect(cli.workDirs.filter((dir) => existsSync(dir))).toEqual([]);
  });
});
