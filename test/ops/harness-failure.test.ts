// ./scripts/test.sh when a part of the test infrastructure cannot start: the vitest run ends with
// one line saying which part and why, not a stack trace. Postgres is pointed at a closed port.
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { kafkaBrokers } from "@bridge/local-infra/testing";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the test harness when Postgres cannot be reached", () => {
  it("stops with one line naming Postgres and why", async () => {
    const port = await closedPort();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ["node_modules/vitest/vitest.mjs", "run", "packages/domain/src/catalog.test.ts"],
        {
          cwd: root,
          env: {
            ...process.env,
            KAFKA_BROKERS: kafkaBrokers().join(","),
            DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/postgres`,
          },
          timeout: 120_000,
        },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(
      /^\[local-infra\] the tests cannot run: Postgres did not start: .*ECONNREFUSED/,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 150_000);
});
