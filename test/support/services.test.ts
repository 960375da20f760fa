// The fault tests' supervisor: starts the four services as processes, SIGKILLs and restarts one,
// keeps each start's output, and leaves no process behind.
import { isAlive, type RestartableKafka, startRestartableKafka } from "@bridge/local-infra";
import { freshDatabase } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDemoCatalog } from "./orders.ts";
import { type BridgeServices, metricSum, startBridgeServices } from "./services.ts";

let kafka: RestartableKafka;
let services: BridgeServices | undefined;
beforeAll(async () => {
  // Its own broker: the services use the contract topic names and groups, which would mix with
  // any other test running the bridge on the shared one.
  kafka = await startRestartableKafka({ log: () => {} });
}, 120_000);
afterAll(async () => {
  await services?.stop();
  await kafka?.dispose();
}, 120_000);

describe("startBridgeServices", () => {
  it("starts, kills and restarts a service, and stops everything without orphans", async () => {
    const databaseUrl = await freshDatabase("faults_supervisor");
    await loadDemoCatalog(databaseUrl);
    services = await startBridgeServices({ kafkaBrokers: kafka.brokers, databaseUrl, logLevel: "info" });
    for (const name of ["emulator", "gateway", "writer", "sync"] as const)
      expect(services.isRunning(name)).toBe(true);
    expect((await fetch(`${services.gatewayUrl}/healthz`)).ok).toBe(true);

    const firstPids = services.pids();
    await services.kill("gateway");
    expect(services.isRunning("gateway")).toBe(false);
    await expect(fetch(`${services.gatewayUrl}/healthz`)).rejects.toThrow();
    await services.start("gateway");
    expect(services.restarts).toEqual({ emulator: 0, gateway: 1, writer: 0, sync: 0 });
    expect((await fetch(`${services.gatewayUrl}/healthz`)).ok).toBe(true);
    // The killed gateway and its watchdog are gone; the new one has other pids.
    const gone = firstPids.filter((pid) => !services!.pids().includes(pid));
    expect(gone).toHaveLength(2);
    expect(gone.filter(isAlive)).toEqual([]);
    // Output of both starts, kept in order.
    expect(services.output("gateway").match(/"msg":"Server listening/g)?.length ?? 0).toBeGreaterThanOrEqual(
      2,
    );
    expect(metricSum(await services.metrics("writer"), "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(services.unexpectedExits).toEqual([]);

    const all = services.pids();
    expect(all).toHaveLength(8);
    await services.stop();
    expect(all.filter(isAlive)).toEqual([]);
    expect(services.pids()).toEqual([]);
  }, 180_000);
});
