// ./scripts/up.sh as a developer lives with it: a service that dies is restarted (with a line
// saying so) and orders still get applied; stopped with Ctrl-C and started again, it finds the
// subscriptions it stored before (Kafka's and Postgres' data persist in BRIDGE_DATA_DIR).
import { once } from "node:events";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { until } from "@bridge/local-infra/testing";
import { afterAll, describe, expect, it } from "vitest";
import { getJson, postOrder, servicePid, startUp, type Up, upPorts } from "./up-process.ts";

const root = path.resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(path.join(tmpdir(), "bridge-up-"));
chmodSync(scratch, 0o755); // like a clone's folder: Postgres (run as postgres when root) can enter it
const dataDir = path.join(scratch, "data"); // created by up.sh, like .data/ in a fresh clone
let up: Up | undefined;

afterAll(async () => {
  await up?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("./scripts/up.sh", () => {
  it("restarts a killed service, keeps applying orders, and keeps its data across a restart", async () => {
    const ports = await upPorts();
    const env = { BRIDGE_DATA_DIR: dataDir };
    up = await startUp(root, ports, env);
    expect(up.stdout()).toContain(`data in ${dataDir}`);
    expect(up.stderr()).not.toContain("Postgres data kept in"); // the postgres user reaches dataDir
    expect(up.stderr()).not.toMatch(/exited \(/); // nothing crashed while starting
    const before = await postOrder(up, "up-before");
    expect(before.status).toBe("applied");

    process.kill(servicePid(up, "stripe-writer"), "SIGKILL");
    await up.waitForStderr(/stripe-writer exited \(SIGKILL\); restarting it in \d+ s \(restart \d+\)/);
    const after = await postOrder(up, "up-after-kill");
    await until(
      async () => (await getJson(up as Up, `/api/orders/${after.id}`)).json.status === "applied",
      120_000,
      "the order posted after the writer was killed to be applied",
    );

    expect(await up.stop()).toBe(0);
    expect(up.stderr()).toContain("[run-local] stopped");
    up = await startUp(root, ports, env);
    const stored = await getJson(up, `/api/subscriptions/${before.subscriptionId}`);
    expect(stored.status).toBe(200);
    expect(stored.json.id).toBe(before.subscriptionId);
    expect(await up.stop()).toBe(0);
    up = undefined;
  }, 600_000);

  it("ends with one line naming the part that cannot start, and why, when Postgres' port is taken", async () => {
    const ports = await upPorts();
    const taken = createServer().listen(Number(ports.LOCAL_POSTGRES_PORT), "127.0.0.1");
    await once(taken, "listening");
    const dir = path.join(scratch, "fail");
    try {
      const failed = await startUp(root, ports, { BRIDGE_DATA_DIR: dir }).then(
        () => undefined,
        (error: Error) => error.message,
      );
      // The last line of stderr says what and why.
      expect(failed).toMatch(
        /\[run-local\] could not start the bridge: Postgres did not start: port \d+ on 127\.0\.0\.1 is in use\n+its stdout/,
      );
      expect(failed).not.toMatch(/^\s+at /m);
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
