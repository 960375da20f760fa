import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { dockerEngineAvailable } from "./containers.ts";
import { freePort } from "./free-port.ts";
import { startInfra } from "./infra.ts";
import { adminDatabaseUrl, kafkaBrokers } from "./testing.ts";

const savedDockerHost = process.env.DOCKER_HOST;
const servers: Server[] = [];
afterEach(async () => {
  if (savedDockerHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = savedDockerHost;
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("Docker engine detection", () => {
  it("falls through quickly when DOCKER_HOST names a socket nobody listens on", async () => {
    process.env.DOCKER_HOST = "unix:///nonexistent/docker.sock";
    const t = Date.now();
    expect(await dockerEngineAvailable()).toBe(false);
    expect(Date.now() - t).toBeLessThan(2_000);
  });

  it("falls through quickly when a TCP Docker host is closed", async () => {
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${await freePort()}`;
    const t = Date.now();
    expect(await dockerEngineAvailable()).toBe(false);
    expect(Date.now() - t).toBeLessThan(2_000);
  });

  it("gives up within the timeout on a host that accepts but never answers", async () => {
    const server = createServer(() => {}); // never responds
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${address.port}`;
    const t = Date.now();
    expect(await dockerEngineAvailable(500)).toBe(false);
    expect(Date.now() - t).toBeLessThan(2_000);
    server.closeAllConnections();
  });

  it("detects an engine that answers /_ping", async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === "/_ping" ? 200 : 404;
      res.end("OK");
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    process.env.DOCKER_HOST = `tcp://127.0.0.1:${address.port}`;
    expect(await dockerEngineAvailable()).toBe(true);
  });
});

describe("startInfra", () => {
  it("takes Kafka and Postgres from the environment when set, and starts nothing", async () => {
    const infra = await startInfra({
      env: { KAFKA_BROKERS: kafkaBrokers().join(","), DATABASE_URL: adminDatabaseUrl() },
      log: () => {},
    });
    expect(infra.mode).toEqual({ kafka: "env", postgres: "env" });
    expect(infra.kafkaBrokers).toBe(kafkaBrokers().join(","));
    expect(infra.databaseUrl).toBe(adminDatabaseUrl());
    expect(infra.postgresVersion).toMatch(/^PostgreSQL \d+/);
    expect(infra.pids).toEqual([]);
    await infra.stop();
  });

  it("rejects an unknown BRIDGE_INFRA value", async () => {
    await expect(startInfra({ env: { BRIDGE_INFRA: "docker" }, log: () => {} })).rejects.toThrow(
      /BRIDGE_INFRA/,
    );
  });
});
