import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freshDatabase, kafkaBrokers, uniqueName } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulated, startStripe, until } from "../test/harness.ts";

// main.ts as the orchestrator runs it: config from env, topics created, consumer, ops server,
// clean exit on SIGTERM. Topics are renamed so this process never consumes other tests' messages.

let stripe: Emulated;
let child: ChildProcess | undefined;
beforeAll(async () => {
  stripe = await startStripe();
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await stripe?.emu.stop();
});

describe("main.ts", () => {
  it("starts, reports ready (database + Kafka) and metrics, and exits 0 on SIGTERM", async () => {
    const lines: string[] = [];
    child = spawn(process.execPath, [join(import.meta.dirname, "main.ts")], {
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        DATABASE_URL: await freshDatabase("sync-main"),
        STRIPE_SECRET_KEY: "sk_test_syncMainSecret",
        STRIPE_API_URL: stripe.emu.url,
        OPS_PORT: "0",
        KAFKA_GROUP_ID: uniqueName("sync-main"),
        KAFKA_TOPIC_PARTITIONS: "1",
        TOPIC_STRIPE_EVENTS: uniqueName("main-stripe-events"),
        TOPIC_SYNC: uniqueName("main-sync"),
        TOPIC_ORDER_OUTCOMES: uniqueName("main-outcomes"),
        TOPIC_SUBSCRIPTION_CHANGES: uniqueName("main-changes"),
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (b: Buffer) => lines.push(...b.toString("utf8").split("\n").filter(Boolean)));
    child.stderr?.on("data", (b: Buffer) => lines.push(b.toString("utf8")));

    let opsPort = 0;
    await until(
      () => {
        const started = lines.find((l) => l.includes("sync-consumer started"));
        if (started) opsPort = (JSON.parse(started) as { opsPort: number }).opsPort;
        return opsPort > 0 || child?.exitCode != null;
      },
      60_000,
      "sync-consumer started",
    );
    expect(child.exitCode, lines.join("\n")).toBeNull();

    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: true, kafka: true } });
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    for (const name of [
      "sync_applied_total",
      "sync_skipped_loop_total",
      "sync_skipped_coalesced_total",
      "sync_unmatched_total",
      "stripe_fetches_total",
      "sync_consumer_lag",
      "sync_dlq_messages",
      "sync_change_events_unpublished",
    ]) {
      expect(metrics).toContain(name);
    }
    expect(lines.join("\n")).not.toContain("sk_test_syncMainSecret");

    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
