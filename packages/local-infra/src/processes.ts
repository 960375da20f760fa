// Starting and stopping the long-lived service processes (Kafka broker, Postgres) so that none
// outlives the run: each runs detached in its own process group (so a Ctrl-C to the terminal
// does not bypass our ordered shutdown), its output goes to a log file, and a tiny detached
// `sh` watchdog stops it when our process disappears, even after a SIGKILL of the runner.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Signal that asks the service for a clean shutdown. */
  stopSignal: NodeJS.Signals;
  /** How long a clean shutdown may take before the process group is SIGKILLed. */
  stopTimeoutMs: number;
  /** Directory the watchdog removes after stopping an orphaned service (its scratch data). */
  workDir?: string;
}

export interface Service {
  readonly name: string;
  readonly pid: number;
  readonly watchdogPid: number;
  readonly logFile: string;
  /** Settles when the process has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  stop(): Promise<void>;
}

const running = new Set<Service & { stopSignal: NodeJS.Signals }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last chance, synchronous: ask whatever is still running to stop. The watchdogs finish the job
  // (and escalate to SIGKILL) if the process is gone before the services are.
  process.on("exit", () => {
    for (const service of running) signalGroup(service.pid, service.stopSignal);
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Signals a whole process group (led by `pid`), falling back to the process alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves once none of `pids` exists any more; rejects after `timeoutMs` naming the survivors. */
export async function waitUntilGone(pids: number[], timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`processes still alive after ${timeoutMs} ms: ${alive.join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

const WATCHDOG_SCRIPT = `
parent=$1; child=$2; sig=$3; grace=$4; dir=$5
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill -0 "$child" 2>/dev/null || exit 0
kill -"$sig" -- -"$child" 2>/dev/null || kill -"$sig" "$child" 2>/dev/null
i=0
while [ "$i" -lt "$grace" ] && kill -0 "$child" 2>/dev/null; do sleep 1; i=$((i+1)); done
kill -KILL -- -"$child" 2>/dev/null
kill -KILL "$child" 2>/dev/null
if [ -n "$dir" ]; then rm -rf "$dir"; fi
exit 0
`;

/**
 * Starts a detached watchdog that stops process group `childPid` once `parentPid` is gone
 * (and exits by itself once the child is gone), then removes `removeDir` if given.
 * Returns the watchdog's pid.
 */
export function startWatchdog(
  childPid: number,
  options: { parentPid?: number; signal: NodeJS.Signals; graceSeconds: number; removeDir?: string },
): number {
  const watchdog = spawn(
    "sh",
    [
      "-c",
      WATCHDOG_SCRIPT,
      "local-infra-watchdog",
      String(options.parentPid ?? process.pid),
      String(childPid),
      options.signal.replace(/^SIG/, ""),
      String(options.graceSeconds),
      options.removeDir ?? "",
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  if (watchdog.pid === undefined) throw new Error("could not start the watchdog shell");
  return watchdog.pid;
}

/** The last `maxBytes` of a log file, for error messages. */
export function tailFile(file: string, maxBytes = 4000): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.length > maxBytes ? `…${text.slice(-maxBytes)}` : text;
  } catch {
    return "(no log)";
  }
}

export function startService(spec: ServiceSpec): Service {
  installExitHook();
  const fd = openSync(spec.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: spec.env ?? process.env,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once("error", () => {
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  const watchdogPid = startWatchdog(pid, {
    signal: spec.stopSignal,
    graceSeconds: Math.ceil(spec.stopTimeoutMs / 1000),
    ...(spec.workDir === undefined ? {} : { removeDir: spec.workDir }),
  });

  let stopping: Promise<void> | undefined;
  const service = {
    name: spec.name,
    pid,
    watchdogPid,
    logFile: spec.logFile,
    exited,
    stopSignal: spec.stopSignal,
    hasExited: () => done,
    stop(): Promise<void> {
      stopping ??= (async () => {
        if (!done) {
          signalGroup(pid, spec.stopSignal);
          // A referenced timer: the child is unref'd, so without it Node could exit mid-stop.
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            exited.then(() => false),
            new Promise<boolean>((resolve) => {
              timer = setTimeout(resolve, spec.stopTimeoutMs, true);
            }),
          ]);
          clearTimeout(timer);
          if (timedOut) {
            process.stderr.write(
              `[local-infra] ${spec.name} did not stop in ${spec.stopTimeoutMs} ms; killing it\n`,
            );
            signalGroup(pid, "SIGKILL");
            await exited;
          }
        }
        // Children of the service (e.g. Postgres backends) share its process group.
        signalGroup(pid, "SIGKILL");
        signalGroup(watchdogPid, "SIGKILL");
        running.delete(service);
        await waitUntilGone([watchdogPid], 5_000);
      })();
      return stopping;
    },
  };
  running.add(service);
  return service;
}
