import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { startReceiver, stripeFor } from "../test/contract-harness.ts";
import { type RunningEmulator, startEmulator } from "./index.ts";

const running: RunningEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

describe("startEmulator", () => {
  it("keeps state across restarts through the snapshot file", async () => {
    const snapshotPath = join(mkdtempSync(join(tmpdir(), "stripe-emu-")), "state.json");
    const first = await startEmulator({ snapshotPath, rateLimitPerSecond: 0 });
    const customer = await stripeFor(first.port).customers.create({ email: "persist@example.com" });
    await first.stop();
    expect(JSON.parse(readFileSync(snapshotPath, "utf8")).customer).toHaveLength(1);

    const second = await startEmulator({ snapshotPath, rateLimitPerSecond: 0 });
    running.push(second);
    const stripe = stripeFor(second.port);
    expect((await stripe.customers.list({ email: "persist@example.com" })).data.map((c) => c.id)).toEqual([
      customer.id,
    ]);
    const next = await stripe.customers.create({ email: "new@example.com" });
    expect(next.id).not.toBe(customer.id);
  });

  it("delivers every event to the endpoint preconfigured by env, signed with its secret", async () => {
    const probe = stripeFor(1);
    const receiver = await startReceiver(probe);
    receiver.setSecret("whsec_preconfigured");
    const emu = await startEmulator({
      webhook: { url: receiver.url, secret: "whsec_preconfigured" },
      rateLimitPerSecond: 0,
    });
    running.push(emu);
    const customer = await stripeFor(emu.port).customers.create({ email: "hook@example.com" });
    await emu.flushWebhooks();
    expect(receiver.rejected).toEqual([]);
    expect(receiver.received.map((r) => [r.event.type, (r.event.data.object as { id: string }).id])).toEqual([
      ["customer.created", customer.id],
    ]);
    await receiver.close();
  });

  it("accepts only the configured keys when STRIPE_EMULATOR_API_KEYS is set", async () => {
    const emu = await startEmulator({ apiKeys: ["sk_test_only_this_one"], rateLimitPerSecond: 0 });
    running.push(emu);
    await expect(stripeFor(emu.port, "sk_test_only_this_one").customers.list()).resolves.toMatchObject({
      object: "list",
    });
    await expect(stripeFor(emu.port, "sk_test_another").customers.list()).rejects.toMatchObject({
      statusCode: 401,
    });
  });
});

describe("main.ts", () => {
  it("starts from the environment, serves the SDK and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "main.ts")], {
      env: { ...process.env, PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<number>((resolve, reject) => {
      lines.on("line", (line) => {
        const entry = JSON.parse(line);
        if (entry.msg === "stripe-emulator listening") resolve(entry.port);
      });
      child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
    });
    const product = await stripeFor(port).products.create({ name: "From main" });
    expect(product.id).toMatch(/^prod_/);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
