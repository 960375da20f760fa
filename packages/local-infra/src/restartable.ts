// Kafka and Postgres that a fault test can stop and start again on the same address and data:
// the ports are chosen once, the data lives in a directory of ours that survives a stop, and
// `dispose()` stops the server and removes that directory. The address never changes, so the
// services under test reconnect to it as they would to a restarted production broker/server.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "./free-port.ts";
import { type LocalKafkaOptions, startLocalKafka } from "./kafka-local.ts";
import type { Logger } from "./log.ts";
import { startLocalPostgres } from "./postgres-local.ts";

export interface Restartable {
  /** Where the data, config and one log per start live (removed by dispose). */
  readonly workDir: string;
  /** How many times it was started (1 after creation). */
  readonly starts: number;
  isRunning(): boolean;
  /** Starts it again on the same port and data; no-op while running. */
  start(): Promise<void>;
  /** Clean shutdown (Kafka: controlled shutdown; Postgres: fast shutdown), data kept; idempotent. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. Idempotent. */
  dispose(): Promise<void>;
  /** Pids of the running server and its watchdog (empty while stopped). */
  pids(): number[];
}

export interface RestartableKafka extends Restartable {
  brokers: string;
  version: string;
}

export interface RestartablePostgres extends Restartable {
  /** Admin URL (user postgres, trust auth): the same across restarts. */
  url: string;
  version: string;
}

type Options = { log?: Logger; startupTimeoutMs?: number };

function restartable<T extends { stop(): Promise<void>; pids: number[] }>(
  workDir: string,
  first: T,
  startAgain: () => Promise<T>,
): Restartable & { current(): T | undefined } {
  let current: T | undefined = first;
  let starts = 1;
  let disposed: Promise<void> | undefined;
  let transition: Promise<void> = Promise.resolve();
  // start/stop calls are serialised so a stop during a start waits for it (and vice versa).
  const serial = (fn: () => Promise<void>) => {
    const next = transition.then(fn);
    transition = next.catch(() => undefined);
    return next;
  };
  return {
    workDir,
    get starts() {
      return starts;
    },
    current: () => current,
    isRunning: () => current !== undefined,
    pids: () => current?.pids ?? [],
    start: () =>
      serial(async () => {
        if (disposed) throw new Error("already disposed");
        if (current) return;
        current = await startAgain();
        starts += 1;
      }),
    stop: () =>
      serial(async () => {
        const running = current;
        current = undefined;
        await running?.stop();
      }),
    dispose() {
      disposed ??= serial(async () => {
        const running = current;
        current = undefined;
        try {
          await running?.stop();
        } finally {
          rmSync(workDir, { recursive: true, force: true });
        }
      });
      return disposed;
    },
  };
}

/** The server's first start; its fresh work dir is removed when that start fails. */
async function firstStart<T>(workDir: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** A local Kafka broker (KRaft) that can be stopped and started again on the same port and log dirs. */
export async function startRestartableKafka(
  options: Options & Pick<LocalKafkaOptions, "cacheDir"> = {},
): Promise<RestartableKafka> {
  const workDir = mkdtempSync(join(tmpdir(), "bridge-kafka-restartable-"));
  const [port, controllerPort] = (await freePorts(2)) as [number, number];
  const start = () => startLocalKafka({ ...options, port, controllerPort, workDir });
  const first = await firstStart(workDir, start);
  return Object.assign(restartable(workDir, first, start), {
    brokers: first.brokers,
    version: first.version,
  });
}

/** A local Postgres that can be stopped and started again on the same port and data directory. */
export async function startRestartablePostgres(options: Options = {}): Promise<RestartablePostgres> {
  const workDir = mkdtempSync(join(tmpdir(), "bridge-pg-restartable-"));
  const [port] = (await freePorts(1)) as [number];
  const start = () => startLocalPostgres({ ...options, port, workDir });
  const first = await firstStart(workDir, start);
  return Object.assign(restartable(workDir, first, start), { url: first.url, version: first.version });
}
