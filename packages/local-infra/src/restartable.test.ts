import { existsSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isAlive } from "./processes.ts";
import { startRestartableKafka, startRestartablePostgres } from "./restartable.ts";

const quiet = () => {};

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe("startRestartablePostgres", () => {
  it("stops (refusing connections) and starts again on the same URL with its rows kept", async () => {
    const server = await startRestartablePostgres({ log: quiet });
    try {
      await query(server.url, "create table kept (v text); insert into kept values ('before restart')");
      const firstPids = server.pids();
      await server.stop();
      expect(server.isRunning()).toBe(false);
      expect(firstPids.filter(isAlive)).toEqual([]);
      await expect(query(server.url, "select 1")).rejects.toThrow();
      await server.start();
      expect(server.starts).toBe(2);
      expect(await query(server.url, "select v from kept")).toEqual([{ v: "before restart" }]);
    } finally {
      await server.dispose();
    }
    expect(existsSync(server.workDir)).toBe(false);
    expect(server.pids()).toEqual([]);
  }, 60_000);
});

describe("startRestartableKafka", () => {
  it("stops and starts again on the same port with its topics and messages kept", async () => {
    const broker = await startRestartableKafka({ log: quiet });
    const kafka = new Kafka({
      brokers: [broker.brokers],
      clientId: "restartable-test",
      logLevel: logLevel.NOTHING,
    });
    try {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "kept", numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: "kept", messages: [{ key: "k", value: "before restart" }] });
      await producer.disconnect();

      const firstPids = broker.pids();
      await broker.stop();
      expect(firstPids.filter(isAlive)).toEqual([]);
      await broker.start();
      expect(broker.starts).toBe(2);

      const consumer = kafka.consumer({ groupId: "restartable-test" });
      await consumer.connect();
      await consumer.subscribe({ topic: "kept", fromBeginning: true });
      const values: string[] = [];
      await consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? "");
        },
      });
      const deadline = Date.now() + 30_000;
      while (values.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await consumer.disconnect();
      expect(values).toEqual(["before restart"]);
    } finally {
      await broker.dispose();
    }
    expect(existsSync(broker.workDir)).toBe(false);
  }, 120_000);
});
