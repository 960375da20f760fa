// A single-node Apache Kafka broker in KRaft mode (broker + controller in one JVM), run from the
// Maven Central jars on free ports, with its data in a temporary directory removed on stop.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { freePorts } from "./free-port.ts";
import { ensureKafkaJars, KAFKA_VERSION, type KafkaJarsOptions } from "./kafka-jars.ts";
import { log as defaultLog, type Logger } from "./log.ts";
import { type Service, startService, tailFile } from "./processes.ts";

// kafkajs' negative-timeout fix lives with the messaging runtime; loaded by name, not statically:
// @bridge/messaging's tests depend on this package, so a static import would be a cycle.
const kafkajsFix: string = "@bridge/messaging/kafkajs-fix";
await import(kafkajsFix);

export interface LocalKafka {
  brokers: string;
  version: string;
  /** Where the broker writes its log (kept until stop). */
  logFile: string;
  pids: number[];
  timings: { jarsMs: number; formatMs: number; startMs: number };
  stop(): Promise<void>;
}

export interface LocalKafkaOptions extends KafkaJarsOptions {
  startupTimeoutMs?: number;
  log?: Logger;
  /** Listener port (default: a free one). Fixed ports let a restarted broker keep its address. */
  port?: number;
  /** Controller port (default: a free one); give it together with `port`. */
  controllerPort?: number;
  /**
   * A directory owned by the caller for the config, logs and data: formatted once, reused by a
   * later start (same topics, offsets and committed groups) and NOT removed on stop.
   * Default: a temporary directory removed on stop.
   */
  workDir?: string;
}

const LOG4J2_YAML = `Configuration:
  name: local-infra-kafka
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: INFO
      - name: kafka.request.logger
        level: WARN
      - name: state.change.logger
        level: WARN
      - name: kafka.log.LogCleaner
        level: WARN
`;

/**
 * A random Kafka cluster id: 16 bytes, base64url without padding (22 chars). Never starting with
 * "-": Kafka's argument parser would read such an id as an option (1 run in 64 failed that way).
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

function serverProperties(o: { port: number; controllerPort: number; dataDir: string }): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    `log.dirs=${o.dataDir}`,
    "num.partitions=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    // Topics are created explicitly by the application code, never by a stray produce.
    "auto.create.topics.enable=false",
    "",
  ].join("\n");
}

function runToCompletion(command: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("close", (code) => {
      writeFileSync(logFile, output, { flag: "a" });
      if (code === 0) resolve();
      else reject(new Error(`${args.slice(-6).join(" ")} failed (exit ${code}): ${output.slice(-2000)}`));
    });
  });
}

const JVM_OPTS = [
  "-Xms256m",
  "-Xmx512m",
  // Startup time and CPU matter more than peak throughput for a test broker on shared cores.
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-Djava.awt.headless=true",
];

async function waitForBroker(service: Service, brokers: string, deadline: number): Promise<string> {
  const startedMarker = "Kafka Server started";
  for (;;) {
    if (service.hasExited()) throw new Error("the Kafka broker exited during startup");
    const text = tailFile(service.logFile, 1_000_000);
    if (text.includes(startedMarker)) {
      const version = /Kafka version: (\S+)/.exec(text)?.[1] ?? KAFKA_VERSION;
      // Confirm from the client side: the broker answers metadata requests.
      const admin = new Kafka({
        brokers: [brokers],
        clientId: "local-infra-ready",
        logLevel: logLevel.NOTHING,
      }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) throw new Error("the broker reports no brokers");
      } finally {
        await admin.disconnect();
      }
      return version;
    }
    if (Date.now() > deadline) throw new Error("the Kafka broker did not start in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startLocalKafka(options: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const log = options.log ?? defaultLog;
  const t0 = Date.now();
  const jars = await ensureKafkaJars(options);
  const jarsMs = Date.now() - t0;
  const classPath = join(jars.libDir, "*");

  const ownedByCaller = options.workDir !== undefined;
  const fixedPorts = options.port !== undefined && options.controllerPort !== undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), "bridge-kafka-"));
    if (ownedByCaller) mkdirSync(workDir, { recursive: true });
    const removeWorkDir = () => {
      if (!ownedByCaller) rmSync(workDir, { recursive: true, force: true });
    };
    const [port, controllerPort] = fixedPorts
      ? [options.port!, options.controllerPort!]
      : ((await freePorts(2)) as [number, number]);
    const propsFile = join(workDir, "server.properties");
    // One log per start: the readiness check looks for the "started" line of this start only.
    const logFile = join(workDir, ownedByCaller ? `broker-${Date.now()}.log` : "broker.log");
    const log4jFile = join(workDir, "log4j2.yaml");
    writeFileSync(propsFile, serverProperties({ port, controllerPort, dataDir: join(workDir, "data") }));
    writeFileSync(log4jFile, LOG4J2_YAML);
    const brokers = `127.0.0.1:${port}`;

    const t1 = Date.now();
    let service: Service | undefined;
    try {
      // A caller's directory formatted by an earlier start keeps its cluster id: format only once.
      const formatted = ownedByCaller && existsSync(join(workDir, "data", "meta.properties"));
      if (!formatted)
        await runToCompletion(
          "java",
          [
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            `-Dlog4j2.configurationFile=${log4jFile}`,
            "-cp",
            classPath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            newClusterId(),
            "-c",
            propsFile,
            "--ignore-formatted",
          ],
          logFile,
        );
      const formatMs = Date.now() - t1;
      const t2 = Date.now();
      service = startService({
        name: "kafka",
        command: "java",
        args: [
          ...JVM_OPTS,
          `-Dlog4j2.configurationFile=${log4jFile}`,
          "-cp",
          classPath,
          "kafka.Kafka",
          propsFile,
        ],
        logFile,
        cwd: workDir,
        ...(ownedByCaller ? {} : { workDir }),
        stopSignal: "SIGTERM",
        stopTimeoutMs: 20_000,
      });
      const version = await waitForBroker(
        service,
        brokers,
        Date.now() + (options.startupTimeoutMs ?? 60_000),
      );
      const startMs = Date.now() - t2;
      log(`Kafka ${version} (KRaft, local jars) listening on ${brokers}; log ${logFile}`);
      const running = service;
      let stopped: Promise<void> | undefined;
      return {
        brokers,
        version,
        logFile,
        pids: [running.pid, running.watchdogPid],
        timings: { jarsMs, formatMs, startMs },
        stop() {
          stopped ??= running.stop().finally(removeWorkDir);
          return stopped;
        },
      };
    } catch (error) {
      lastError = error;
      const tail = tailFile(logFile);
      await service?.stop();
      const bindFailure = /Address already in use|BindException/.test(tail);
      if (bindFailure) lastError = new Error(`port ${port} or ${controllerPort} on 127.0.0.1 is in use`);
      if (bindFailure && attempt < 3) {
        log(
          `Kafka could not bind its ports (attempt ${attempt}); retrying on ${fixedPorts ? "the same ports" : "other ports"}`,
        );
        removeWorkDir();
        if (fixedPorts) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
        continue;
      }
      log(`Kafka failed to start: ${(error as Error).message}\n--- tail of ${logFile} ---\n${tail}`);
      break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
