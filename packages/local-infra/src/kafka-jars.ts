// Apache Kafka's broker jars from Maven Central, fetched once into a cache shared by all runs
// and checkouts. Concurrent first runs are serialised by flock(1) on a lock file (released by
// the kernel even if the holder dies); the fetch goes to a temporary directory that is renamed
// into place, so a half-fetched cache is never seen.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { log as defaultLog, type Logger } from "./log.ts";

export const KAFKA_VERSION = "4.1.1";
export const KAFKA_POM = fileURLToPath(new URL("../kafka/pom.xml", import.meta.url));
const BROKER_JAR = `kafka_2.13-${KAFKA_VERSION}.jar`;

/** `$BRIDGE_CACHE_DIR`, else the same default as scripts/node-env.sh. */
export function bridgeCacheDir(): string {
  const explicit = process.env.BRIDGE_CACHE_DIR;
  if (explicit) return explicit;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "limio-stripe-bridge");
}

export interface KafkaJarsOptions {
  /** Directory holding `kafka-<version>/`; defaults to bridgeCacheDir(). */
  cacheDir?: string;
  /** Maven executable; tests substitute a fake. */
  mvn?: string;
  log?: Logger;
}

export interface KafkaJars {
  /** Directory with every runtime jar; use `${libDir}/*` as the class path. */
  libDir: string;
  /** True when this call ran Maven. */
  fetched: boolean;
}

/** Script run under flock: re-checks (another run may have finished meanwhile), fetches, renames. */
const FETCH_SCRIPT = `
set -eu
lib=$1; jar=$2; mvn=$3; pom=$4
if [ -f "$lib/$jar" ]; then echo "cached-by-other"; exit 0; fi
tmp="$lib.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
"$mvn" -B -q -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \\
  -DincludeScope=runtime "-DoutputDirectory=$tmp" >&2
if [ ! -f "$tmp/$jar" ]; then echo "maven did not produce $jar" >&2; exit 1; fi
rm -rf "$lib"
mv "$tmp" "$lib"
trap - EXIT
echo "fetched"
`;

export async function ensureKafkaJars(options: KafkaJarsOptions = {}): Promise<KafkaJars> {
  const log = options.log ?? defaultLog;
  const base = join(options.cacheDir ?? bridgeCacheDir(), `kafka-${KAFKA_VERSION}`);
  const libDir = join(base, "lib");
  if (existsSync(join(libDir, BROKER_JAR))) {
    log(`reusing cached Kafka jars in ${libDir}`);
    return { libDir, fetched: false };
  }
  mkdirSync(base, { recursive: true });
  log(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libDir} (first run only)`);
  const outcome = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      "flock",
      [
        join(base, ".fetch.lock"),
        "sh",
        "-c",
        FETCH_SCRIPT,
        "fetch-kafka-jars",
        libDir,
        BROKER_JAR,
        options.mvn ?? "mvn",
        KAFKA_POM,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`fetching the Kafka jars failed (exit ${code}):\n${stderr.slice(-4000)}`));
    });
  });
  if (outcome === "cached-by-other") {
    log("reusing cached Kafka jars (another run fetched them meanwhile)");
    return { libDir, fetched: false };
  }
  return { libDir, fetched: true };
}
