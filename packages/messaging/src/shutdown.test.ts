import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kafkaBrokers, uniqueName } from "@bridge/local-infra/testing";
import { createLogger } from "@bridge/observability";
import { afterAll, describe, expect, it } from "vitest";
import { committedOffsets, envelope, freshTopicWithCompanions, testClient, until } from "../test/support.ts";
import { createProducer } from "./producer.ts";
import { installShutdown } from "./shutdown.ts";

const client = testClient("shutdown-test");
const producer = createProducer(client);
const children: ChildProcess[] = [];
const fixture = new URL("./fixtures/slow-consumer.ts", import.meta.url).pathname;
const CONCURRENCY = 2;

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await producer.disconnect();
});

function spawnConsumer(env: Record<string, string>): {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null }>;
  ready: Promise<void>;
} {
  const child = spawn(process.execPath, [fixture], {
    env: {
      ...process.env,
      ...env,
      KAFKA_BROKERS: kafkaBrokers().join(","),
      CONCURRENCY: String(CONCURRENCY),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d) => {
      if (d.toString().includes("ready")) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`consumer exited early (${code}): ${stderr}`)));
  });
  return { child, exited, ready };
}

function handledIds(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

describe("SIGTERM mid-stream (child process)", () => {
  it("loses nothing, exits 0, and re-handles at most the in-flight window", async () => {
    const topic = await freshTopicWithCompanions(client, "sigterm", 2);
    const groupId = uniqueName("sigterm");
    const out = join(mkdtempSync(join(tmpdir(), "sigterm-")), "handled.txt");
    const total = 200;
    const sent = Array.from({ length: total }, (_, i) => ({
      key: `sub-${i % 10}`,
      envelope: envelope({ i }),
    }));
    await producer.publishBatch(topic, sent);
    const env = { TOPIC: topic, GROUP_ID: groupId, OUT_FILE: out, DELAY_MS: "20" };

    const first = spawnConsumer(env);
    await first.ready;
    await until(() => handledIds(out).length >= 40, 30_000, "first handled messages");
    first.child.kill("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    const handledBeforeRestart = handledIds(out).length;
    expect(handledBeforeRestart).toBeLessThan(total); // really stopped mid-stream
    const committed = (await committedOffsets(client, groupId, topic)).reduce(
      (a, b) => a + Math.max(0, b),
      0,
    );
    // Everything handled was committed on the way out (only in-flight work could be missing).
    expect(handledBeforeRestart - committed).toBeLessThanOrEqual(CONCURRENCY);

    const second = spawnConsumer(env);
    await second.ready;
    await until(() => new Set(handledIds(out)).size === total, 30_000, "every id handled");
    second.child.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });

    const ids = handledIds(out);
    const unique = new Set(ids);
    for (const m of sent) expect(unique.has(m.envelope.id)).toBe(true);
    const duplicates = ids.length - unique.size;
    console.info(
      `[sigterm] handled before SIGTERM: ${handledBeforeRestart}/${total}, committed then: ${committed}, duplicates: ${duplicates}`,
    );
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
  }, 90_000);
});

describe("installShutdown", () => {
  it("stops every part in order, then exits 0; a failing stop exits 1", async () => {
    const logger = createLogger("shutdown-unit", { level: "silent" });
    const order: string[] = [];
    const codes: number[] = [];
    const remove = installShutdown(
      [{ stop: async () => void order.push("http") }, { stop: async () => void order.push("consumer") }],
      logger,
      { signals: ["SIGUSR2"], exit: (c) => codes.push(c) },
    );
    process.emit("SIGUSR2", "SIGUSR2");
    await until(() => codes.length === 1, 5_000, "exit");
    expect(order).toEqual(["http", "consumer"]);
    expect(codes).toEqual([0]);
    remove();

    const failing = installShutdown([{ stop: async () => Promise.reject(new Error("boom")) }], logger, {
      signals: ["SIGUSR2"],
      exit: (c) => codes.push(c),
    });
    process.emit("SIGUSR2", "SIGUSR2");
    await until(() => codes.length === 2, 5_000, "exit");
    expect(codes[1]).toBe(1);
    failing();
  });
});
