import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, startService, waitUntilGone } from "./processes.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "processes-test-"));
  dirs.push(dir);
  return dir;
}

describe("service processes", () => {
  it("stop() escalates to SIGKILL for a service that ignores its stop signal, leaving nothing behind", async () => {
    const dir = tempDir();
    const service = startService({
      name: "stubborn",
      command: "sh",
      args: ["-c", 'trap "" TERM; sleep 300 & wait'],
      logFile: join(dir, "log"),
      stopSignal: "SIGTERM",
      stopTimeoutMs: 300,
    });
    expect(isAlive(service.pid)).toBe(true);

    await service.stop();

    expect((await service.exited).signal).toBe("SIGKILL");
    await waitUntilGone([service.pid, service.watchdogPid], 3_000);
  });

  it("stop() keeps Node alive until the service has stopped, even with nothing else to do", async () => {
    const dir = tempDir();
    const processesModule = fileURLToPath(new URL("./processes.ts", import.meta.url));
    // The service takes a moment to shut down on SIGTERM, like a Kafka controlled shutdown.
    const script = `import { startService } from ${JSON.stringify(processesModule)};
      const s = startService({ name: "slow", command: "sh", args: ["-c", 'trap "sleep 0.5; exit 0" TERM; sleep 300 & wait'],
        logFile: ${JSON.stringify(join(dir, "log"))}, stopSignal: "SIGTERM", stopTimeoutMs: 10000 });
      await new Promise((r) => setTimeout(r, 200));
      await s.stop();
      const { code } = await s.exited;
      console.log("stopped with code " + code);`;
    const runner = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    runner.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const code = await new Promise((resolve) => runner.once("exit", resolve));
    expect(code).toBe(0);
    expect(out.trim()).toBe("stopped with code 0");
  });

  it("stops a service and cleans its directory when the process that started it is SIGKILLed", async () => {
    const dir = tempDir();
    const workDir = join(dir, "work");
    const processesModule = fileURLToPath(new URL("./processes.ts", import.meta.url));
    // A stand-in for the test runner: starts a service, reports its pids, then waits to be killed.
    const runner = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { mkdirSync } from "node:fs";
         import { startService } from ${JSON.stringify(processesModule)};
         mkdirSync(${JSON.stringify(workDir)});
         const s = startService({ name: "sleeper", command: "sleep", args: ["300"], logFile: ${JSON.stringify(join(dir, "log"))},
           workDir: ${JSON.stringify(workDir)}, stopSignal: "SIGTERM", stopTimeoutMs: 2000 });
         console.log(JSON.stringify({ pid: s.pid, watchdogPid: s.watchdogPid }));
         setInterval(() => {}, 1 << 30);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const pids = await new Promise<{ pid: number; watchdogPid: number }>((resolve, reject) => {
      runner.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
      runner.once("exit", (code) => reject(new Error(`runner exited early (${code})`)));
    });
    expect(isAlive(pids.pid)).toBe(true);
    expect(existsSync(workDir)).toBe(true);

    const runnerExited = new Promise((resolve) => runner.once("exit", resolve));
    runner.kill("SIGKILL");
    await runnerExited;

    // The watchdog polls once a second, then gives the service its stop signal.
    await waitUntilGone([pids.pid, pids.watchdogPid], 10_000);
    expect(existsSync(workDir)).toBe(false);
  });
});
