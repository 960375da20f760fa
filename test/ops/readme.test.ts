// The README's first example, run verbatim on the stack its run command starts: `./scripts/up.sh`,
// then the commands of the first block under "Using it" (a Limio offer export loaded with
// `bridge catalog load`, and a new order for one of its offers). The README's commands name the
// run's default ports, so the whole run happens in a fresh network namespace where those ports
// are free whatever else runs on the machine (as root: `unshare -n`); without root it needs them free.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(path.join(tmpdir(), "bridge-readme-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The first ```bash block after the "## Using it" heading, as printed. */
function firstExample(readme: string): string {
  const section = readme.slice(readme.indexOf("\n## Using it\n"));
  const match = /```bash\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error("README.md has no ```bash block under ## Using it");
  return match[1];
}

/** Starts ./scripts/up.sh, waits for its banner, runs the example, stops the run (Ctrl-C). */
const driver = `
set -uo pipefail
ip link set lo up 2>/dev/null || true
./scripts/up.sh >"$SCRATCH/up.out" 2>"$SCRATCH/up.err" &
up=$!
until grep -q "is running" "$SCRATCH/up.out"; do
  kill -0 "$up" 2>/dev/null || { echo "up.sh exited before its banner" >&2; tail -20 "$SCRATCH/up.err" >&2; exit 90; }
  sleep 1
done
bash -e "$SCRATCH/example.sh" >"$SCRATCH/example.out" 2>"$SCRATCH/example.err"
rc=$?
kill -INT "$up"
wait "$up"
exit $rc
`;

function run(): Promise<number | null> {
  writeFileSync(
    path.join(scratch, "example.sh"),
    firstExample(readFileSync(path.join(root, "README.md"), "utf8")),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SCRATCH: scratch,
    BRIDGE_DATA_DIR: path.join(scratch, "data"),
    BRIDGE_INFRA: "local",
    LOG_LEVEL: "warn",
  };
  // The run starts its own Kafka and Postgres, as a user's does; the example sets what it needs.
  for (const name of [
    "KAFKA_BROKERS",
    "DATABASE_URL",
    "GATEWAY_PORT",
    "EMULATOR_PORT",
    "LOCAL_POSTGRES_PORT",
  ])
    delete env[name];
  const isRoot = process.getuid?.() === 0;
  const [command, args] = isRoot ? ["unshare", ["-n", "bash", "-c", driver]] : ["bash", ["-c", driver]];
  const child = spawn(command, args as string[], { cwd: root, env, stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

const read = (name: string) => readFileSync(path.join(scratch, name), "utf8");

describe("README.md's first example", () => {
  it("loads a Limio offer export with bridge catalog load, then a new order for one of its offers is applied", async () => {
    const code = await run();
    const example = read("example.out");
    expect(code, `example.err:\n${read("example.err")}\nup.err:\n${read("up.err").slice(-3000)}`).toBe(0);
    // The README's DATABASE_URL is the one the run prints for the CLI.
    expect(read("up.out")).toContain(
      "bridge CLI        DATABASE_URL=postgresql://postgres@127.0.0.1:15432/postgres ",
    );
    expect(example).toMatch(/^added {5}6eacdc8ea4d77136c0ca25029fa60fe03310139e version 66bf01e9/m);
    expect(example).toContain("2 added, 0 updated, 0 unchanged");
    const answer = JSON.parse(example.slice(example.indexOf("{")));
    expect(answer).toMatchObject({ status: "applied", external_id: "EXT-ORD-WEEKEND-1" });
    expect(answer.subscriptionId).toMatch(/^sub-[0-9a-f]{32}$/);
  }, 900_000);
});
