// Testcontainers path, used when a Docker engine answers. Detection is our own quick ping of the
// Docker API (/_ping) with a short timeout, so a machine with only a docker client (or a dead
// socket) falls through to the local services in well under 2 s instead of waiting on
// Testcontainers' own, slower runtime discovery.
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Logger } from "./log.ts";

const KAFKA_IMAGE = "confluentinc/cp-kafka:8.0.0";
const POSTGRES_IMAGE = "postgres:17";

type Endpoint = { socketPath: string } | { host: string; port: number };

function endpointFromUri(uri: string): Endpoint | undefined {
  if (uri.startsWith("unix://")) return { socketPath: uri.slice("unix://".length) };
  if (uri.startsWith("tcp://") || uri.startsWith("http://")) {
    const parsed = new URL(uri.replace(/^tcp:/, "http:"));
    return { host: parsed.hostname, port: Number(parsed.port || 2375) };
  }
  return undefined;
}

/** Where a Docker engine could be, in the order Testcontainers looks. */
function dockerEndpoints(env: NodeJS.ProcessEnv = process.env): Endpoint[] {
  if (env.DOCKER_HOST) {
    const endpoint = endpointFromUri(env.DOCKER_HOST);
    return endpoint ? [endpoint] : [];
  }
  const endpoints: Endpoint[] = [];
  try {
    const props = readFileSync(join(homedir(), ".testcontainers.properties"), "utf8");
    const host = /^docker\.host\s*=\s*(.+)$/m.exec(props)?.[1]?.trim();
    const endpoint = host ? endpointFromUri(host) : undefined;
    if (endpoint) endpoints.push(endpoint);
  } catch {
    // no properties file
  }
  const sockets = [
    "/var/run/docker.sock",
    join(homedir(), ".docker", "run", "docker.sock"),
    join(homedir(), ".docker", "desktop", "docker.sock"),
    ...(env.XDG_RUNTIME_DIR
      ? [join(env.XDG_RUNTIME_DIR, "docker.sock"), join(env.XDG_RUNTIME_DIR, "podman", "podman.sock")]
      : []),
  ];
  for (const socketPath of sockets) if (existsSync(socketPath)) endpoints.push({ socketPath });
  return endpoints;
}

function ping(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: "/_ping", method: "GET", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.once("error", () => resolve(false));
    req.end();
  });
}

/** True when some Docker engine answers its API within `timeoutMs`. */
export async function dockerEngineAvailable(timeoutMs = 1500): Promise<boolean> {
  const endpoints = dockerEndpoints();
  if (endpoints.length === 0) return false;
  const answers = await Promise.all(endpoints.map((endpoint) => ping(endpoint, timeoutMs)));
  return answers.some(Boolean);
}

export interface ContainerKafka {
  brokers: string;
  version: string;
  stop(): Promise<void>;
}

export interface ContainerPostgres {
  url: string;
  version: string;
  stop(): Promise<void>;
}

// Testcontainers' Ryuk sidecar removes these containers even if this process is SIGKILLed.
export async function startContainerKafka(log: Logger): Promise<ContainerKafka> {
  const { KafkaContainer } = await import("@testcontainers/kafka");
  const container = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
  const brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
  const probe = await container.exec([
    "sh",
    "-c",
    "ls /usr/share/java/kafka | grep -o '^kafka-clients-[0-9.]*' | head -1",
  ]);
  // Confluent Platform's version (8.0.x ships Apache Kafka 4.0.x): a broker cannot tell a client its own.
  const cpVersion = probe.output
    .trim()
    .replace(/^kafka-clients-/, "")
    .replace(/\.$/, "");
  const version = cpVersion ? `Confluent Platform ${cpVersion}` : KAFKA_IMAGE;
  log(`Kafka ${version} (${KAFKA_IMAGE}, KRaft, Testcontainers) listening on ${brokers}`);
  return { brokers, version, stop: async () => void (await container.stop()) };
}

export async function startContainerPostgres(log: Logger): Promise<ContainerPostgres> {
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
  const container = await new PostgreSqlContainer(POSTGRES_IMAGE).start();
  const url = container.getConnectionUri();
  log(
    `Postgres (${POSTGRES_IMAGE}, Testcontainers) listening on ${container.getHost()}:${container.getPort()}`,
  );
  return { url, version: POSTGRES_IMAGE, stop: async () => void (await container.stop()) };
}
