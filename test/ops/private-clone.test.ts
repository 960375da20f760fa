// Both README commands from a clone inside a folder only its owner can enter (mode 700, like
// /root): as root, Postgres runs as the `postgres` user, which cannot reach the clone's
// node_modules nor its .data/, so the harness must place Postgres' binaries and data elsewhere.
// The clone is of this repository's HEAD, as CI gets it.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { postOrder, startUp, type Up, upPorts } from "./up-process.ts";

const root = path.resolve(import.meta.dirname, "../..");
const privateDir = mkdtempSync(path.join(tmpdir(), "bridge-private-"));
chmodSync(privateDir, 0o700);
const clone = path.join(privateDir, "limio-stripe-bridge");
const relocated: string[] = [];
let up: Up | undefined;

afterAll(async () => {
  await up?.stop();
  rmSync(privateDir, { recursive: true, force: true });
  for (const dir of relocated) rmSync(dir, { recursive: true, force: true });
});

const env = () => {
  const e: NodeJS.ProcessEnv = { ...process.env, BRIDGE_INFRA: "local" };
  delete e.KAFKA_BROKERS;
  delete e.DATABASE_URL;
  return e;
};

describe(`README commands from a clone in a mode-700 folder (as ${process.getuid?.() === 0 ? "root" : "a user"})`, () => {
  it("./scripts/test.sh runs tests against its own Kafka and Postgres", async () => {
    await promisify(execFile)("git", ["clone", "-q", root, clone]);
    const { stdout, stderr } = await promisify(execFile)(
      "./scripts/test.sh",
      ["packages/local-infra/src/postgres.test.ts"],
      {
        cwd: clone,
        env: { ...env(), BRIDGE_SKIP_STATIC_CHECKS: "1" },
        timeout: 480_000,
        maxBuffer: 32 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `test.sh failed: ${error.message}\n${error.stdout?.slice(-3000)}\n${error.stderr?.slice(-3000)}`,
      );
    });
    expect(stdout).toMatch(/Tests: \d+ passed, 0 failed/);
    expect(`${stdout}${stderr}`).not.toContain("EACCES");
  }, 600_000);

  it("./scripts/up.sh starts the bridge, applies an order and stops on Ctrl-C", async () => {
    up = await startUp(clone, await upPorts());
    const dataLine = /Postgres data kept in (\S+)/.exec(up.stderr());
    if (dataLine?.[1]) relocated.push(dataLine[1]);
    if (process.getuid?.() === 0)
      expect(dataLine, "as root, Postgres' data must leave the private folder").not.toBeNull();
    expect((await postOrder(up, "private-clone")).status).toBe("applied");
    expect(await up.stop()).toBe(0);
    expect(up.stderr()).not.toMatch(/^\s+at /m); // no stack trace anywhere
    up = undefined;
  }, 400_000);
});
