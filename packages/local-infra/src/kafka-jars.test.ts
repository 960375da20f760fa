import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureKafkaJars, KAFKA_POM, KAFKA_VERSION } from "./kafka-jars.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for mvn that records each call and writes the broker jar where it is told. */
function fakeMaven(dir: string, behaviour: "ok" | "fail" = "ok"): { mvn: string; calls: () => string[] } {
  const callsFile = join(dir, "mvn-calls.log");
  const mvn = join(dir, "fake-mvn");
  writeFileSync(
    mvn,
    `#!/bin/sh
echo "$*" >> "${callsFile}"
${behaviour === "fail" ? 'echo "boom" >&2; exit 1' : ""}
for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="\${arg#-DoutputDirectory=}";; esac; done
mkdir -p "$out"
touch "$out/kafka_2.13-${KAFKA_VERSION}.jar" "$out/kafka-clients-${KAFKA_VERSION}.jar"
`,
  );
  chmodSync(mvn, 0o755);
  return {
    mvn,
    calls: () => (existsSync(callsFile) ? readFileSync(callsFile, "utf8").trim().split("\n") : []),
  };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kafka-jars-test-"));
  dirs.push(dir);
  return dir;
}

describe("the Kafka jar cache", () => {
  it("reuses cached jars without calling Maven", async () => {
    const cacheDir = tempDir();
    const lib = join(cacheDir, `kafka-${KAFKA_VERSION}`, "lib");
    mkdirSync(lib, { recursive: true });
    writeFileSync(join(lib, `kafka_2.13-${KAFKA_VERSION}.jar`), "");
    const maven = fakeMaven(cacheDir);
    const lines: string[] = [];

    const jars = await ensureKafkaJars({ cacheDir, mvn: maven.mvn, log: (m) => lines.push(m) });

    expect(jars).toEqual({ libDir: lib, fetched: false });
    expect(maven.calls()).toEqual([]);
    expect(lines.join("\n")).toContain("reusing cached Kafka jars");
  });

  it("fetches once with the pinned dependency plugin, even when several runs start together", async () => {
    const cacheDir = tempDir();
    const maven = fakeMaven(cacheDir);

    const results = await Promise.all(
      [1, 2, 3].map(() => ensureKafkaJars({ cacheDir, mvn: maven.mvn, log: () => {} })),
    );

    expect(maven.calls()).toHaveLength(1);
    expect(maven.calls()[0]).toContain("maven-dependency-plugin:3.6.1:copy-dependencies");
    expect(maven.calls()[0]).toContain(`-f ${KAFKA_POM}`);
    expect(results.filter((r) => r.fetched)).toHaveLength(1);
    const base = join(cacheDir, `kafka-${KAFKA_VERSION}`);
    expect(readdirSync(join(base, "lib"))).toContain(`kafka_2.13-${KAFKA_VERSION}.jar`);
    expect(readdirSync(base).filter((name) => name.includes(".tmp."))).toEqual([]);

    // The next run only reads the cache.
    await ensureKafkaJars({ cacheDir, mvn: maven.mvn, log: () => {} });
    expect(maven.calls()).toHaveLength(1);
  });

  it("leaves no half-filled cache when Maven fails", async () => {
    const cacheDir = tempDir();
    const maven = fakeMaven(cacheDir, "fail");

    await expect(ensureKafkaJars({ cacheDir, mvn: maven.mvn, log: () => {} })).rejects.toThrow(/boom/);

    const base = join(cacheDir, `kafka-${KAFKA_VERSION}`);
    expect(readdirSync(base).filter((name) => name !== ".fetch.lock")).toEqual([]);
  });

  it("has a pom that pins the broker and its log binding", () => {
    const pom = readFileSync(KAFKA_POM, "utf8");
    expect(pom).toContain(`<artifactId>kafka_2.13</artifactId>\n      <version>${KAFKA_VERSION}</version>`);
    expect(pom).toContain("<artifactId>log4j-slf4j-impl</artifactId>");
    expect(spawnSync("flock", ["--version"]).status).toBe(0);
  });
});
