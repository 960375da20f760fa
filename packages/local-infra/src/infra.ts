// Chooses where Kafka and Postgres come from, each on its own:
//   1. the environment (KAFKA_BROKERS / DATABASE_URL) when set;
//   2. Testcontainers when a Docker engine answers;
//   3. local processes: Apache Kafka from Maven Central jars, embedded Postgres 18.
// BRIDGE_INFRA=local|containers forces a path for what the environment does not provide.
import { join } from "node:path";
import { dockerEngineAvailable, startContainerKafka, startContainerPostgres } from "./containers.ts";
import { postgresVersion } from "./databases.ts";
import { startLocalKafka } from "./kafka-local.ts";
import { log as defaultLog, type Logger, redactUrl } from "./log.ts";
import { startLocalPostgres } from "./postgres-local.ts";

export type InfraSource = "env" | "containers" | "local";

export interface Infra {
  /** Comma-separated bootstrap servers. */
  kafkaBrokers: string;
  /** Admin connection URL (may contain a password: print it with redactUrl). */
  databaseUrl: string;
  kafkaVersion: string;
  postgresVersion: string;
  mode: { kafka: InfraSource; postgres: InfraSource };
  /** Milliseconds per phase; `totalMs` is the wall-clock start time. */
  timings: Record<string, number>;
  /** Pids of the processes this run started (services and their watchdogs); empty otherwise. */
  pids: number[];
  /** Stops whatever this call started (never what came from the environment). Idempotent. */
  stop(): Promise<void>;
}

export interface StartInfraOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /**
   * Keep the locally started Kafka's and Postgres' data in `dataDir` (kafka/, postgres/) on fixed
   * ports, so a later start finds the same topics, offsets and rows. Default: throwaway data.
   */
  persistent?: { dataDir: string; kafkaPort: number; kafkaControllerPort: number; postgresPort: number };
}

interface Part<T> {
  value: T;
  version: string;
  source: InfraSource;
  pids: number[];
  timings: Record<string, number>;
  stop(): Promise<void>;
}

const noop = async () => {};

export async function startInfra(options: StartInfraOptions = {}): Promise<Infra> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const persistent = options.persistent;

  const kafkaFromEnv = env.KAFKA_BROKERS?.trim() || undefined;
  const databaseFromEnv = env.DATABASE_URL?.trim() || undefined;
  const forced = env.BRIDGE_INFRA?.trim() || "auto";
  if (!["auto", "local", "containers"].includes(forced)) {
    throw new Error(`BRIDGE_INFRA must be auto, local or containers (got "${forced}")`);
  }

  let useContainers = false;
  if (!kafkaFromEnv || !databaseFromEnv) {
    if (forced === "containers") useContainers = true;
    else if (forced === "auto") {
      const t = Date.now();
      useContainers = await dockerEngineAvailable();
      timings.dockerDetectMs = Date.now() - t;
      log(
        useContainers
          ? `Docker engine answered in ${timings.dockerDetectMs} ms: using Testcontainers`
          : `no Docker engine answered (${timings.dockerDetectMs} ms): starting local Kafka and Postgres`,
      );
    }
  }

  const kafka = async (): Promise<Part<string>> => {
    const t = Date.now();
    if (kafkaFromEnv) {
      log(`Kafka from KAFKA_BROKERS: ${kafkaFromEnv}`);
      return { value: kafkaFromEnv, version: "external", source: "env", pids: [], timings: {}, stop: noop };
    }
    if (useContainers) {
      const c = await startContainerKafka(log);
      return {
        value: c.brokers,
        version: c.version,
        source: "containers",
        pids: [],
        timings: { kafkaMs: Date.now() - t },
        stop: c.stop,
      };
    }
    const k = await startLocalKafka({
      log,
      ...(persistent && {
        workDir: join(persistent.dataDir, "kafka"),
        port: persistent.kafkaPort,
        controllerPort: persistent.kafkaControllerPort,
      }),
    });
    return {
      value: k.brokers,
      version: k.version,
      source: "local",
      pids: k.pids,
      timings: {
        kafkaMs: Date.now() - t,
        kafkaJarsMs: k.timings.jarsMs,
        kafkaFormatMs: k.timings.formatMs,
        kafkaBootMs: k.timings.startMs,
      },
      stop: k.stop,
    };
  };

  const postgres = async (): Promise<Part<string>> => {
    const t = Date.now();
    if (databaseFromEnv) {
      log(`Postgres from DATABASE_URL: ${redactUrl(databaseFromEnv)}`);
      const version = await postgresVersion(databaseFromEnv);
      return { value: databaseFromEnv, version, source: "env", pids: [], timings: {}, stop: noop };
    }
    if (useContainers) {
      const c = await startContainerPostgres(log);
      const version = await postgresVersion(c.url);
      return {
        value: c.url,
        version,
        source: "containers",
        pids: [],
        timings: { postgresMs: Date.now() - t },
        stop: c.stop,
      };
    }
    const p = await startLocalPostgres({
      log,
      ...(persistent && { workDir: join(persistent.dataDir, "postgres"), port: persistent.postgresPort }),
    });
    return {
      value: p.url,
      version: p.version,
      source: "local",
      pids: p.pids,
      timings: {
        postgresMs: Date.now() - t,
        postgresInitdbMs: p.timings.initdbMs,
        postgresBootMs: p.timings.startMs,
      },
      stop: p.stop,
    };
  };

  // Both at once; if one fails, stop the other before reporting.
  const [k, p] = await Promise.allSettled([kafka(), postgres()]);
  if (k.status === "rejected" || p.status === "rejected") {
    await Promise.allSettled([k, p].map((r) => (r.status === "fulfilled" ? r.value.stop() : undefined)));
    if (k.status === "rejected") throw new InfraStartError("Kafka", k.reason);
    throw new InfraStartError("Postgres", (p as PromiseRejectedResult).reason);
  }
  const kafkaPart = k.value;
  const postgresPart = p.value;
  Object.assign(timings, kafkaPart.timings, postgresPart.timings, { totalMs: Date.now() - t0 });

  let stopping: Promise<void> | undefined;
  return {
    kafkaBrokers: kafkaPart.value,
    databaseUrl: postgresPart.value,
    kafkaVersion: kafkaPart.version,
    postgresVersion: postgresPart.version,
    mode: { kafka: kafkaPart.source, postgres: postgresPart.source },
    timings,
    pids: [...kafkaPart.pids, ...postgresPart.pids],
    stop() {
      stopping ??= (async () => {
        const results = await Promise.allSettled([kafkaPart.stop(), postgresPart.stop()]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
      })();
      return stopping;
    },
  };
}

/** Which part could not start and why, in one line (the details were logged before). */
export class InfraStartError extends Error {
  readonly part: "Kafka" | "Postgres";
  constructor(part: "Kafka" | "Postgres", reason: unknown) {
    const why = (reason instanceof Error ? reason.message : String(reason)).split("\n")[0];
    super(`${part} did not start: ${why}`, { cause: reason });
    this.name = "InfraStartError";
    this.part = part;
  }
}

/** One line: where each part comes from, versions and start time. */
export function describeInfra(infra: Infra): string {
  const pgShort = infra.postgresVersion.split(" on ")[0] ?? infra.postgresVersion;
  return (
    `kafka=${infra.mode.kafka} (Kafka ${infra.kafkaVersion}, ${infra.kafkaBrokers}), ` +
    `postgres=${infra.mode.postgres} (${pgShort}, ${redactUrl(infra.databaseUrl)}), ` +
    `started in ${infra.timings.totalMs} ms`
  );
}
