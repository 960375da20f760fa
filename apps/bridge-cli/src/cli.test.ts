import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Envelope } from "@bridge/domain";
import {
  bridgeTopicSpecs,
  createKafkaClient,
  createProducer,
  ensureTopics,
  PermanentError,
  type RunningConsumer,
  startConsumer,
  topics,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore, createSubscription, ensureCustomer, findOffer, type Store } from "@bridge/store";
import { freshDatabase, kafkaBrokers, uniqueName } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorSyncRequest } from "./commands/sync-requests.ts";
import { runCli } from "./main.ts";

const logger = createLogger("cli-test", { level: "error" });
const client = createKafkaClient({ brokers: kafkaBrokers(), clientId: "cli-test", logger });
let store: Store;
let env: Record<string, string>;
const consumers: RunningConsumer[] = [];

beforeAll(async () => {
  const databaseUrl = await freshDatabase("cli");
  store = createStore(databaseUrl);
  // The services ask for 6 partitions by default; asking for fewer here would make them refuse the topics.
  await ensureTopics(client, bridgeTopicSpecs({ partitions: 6 }));
  env = {
    KAFKA_BROKERS: kafkaBrokers().join(","),
    DATABASE_URL: databaseUrl,
    BRIDGE_STATE_DIR: await mkdtemp(path.join(os.tmpdir(), "bridge-cli-")),
    LOG_LEVEL: "error",
  };
});
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await store?.close();
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function seedLinked(count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = `sub-${prefix}${String(i).padStart(32 - prefix.length, "0")}`;
    await ensureCustomer(store.db, { id: `cus-${id.slice(4)}`, email: `${id}@example.com` });
    await createSubscription(store.db, {
      id,
      reference: `R${prefix}${i}`.padEnd(12, "X").slice(0, 12).toUpperCase(),
      customerId: `cus-${id.slice(4)}`,
      status: "active",
      source: "shop",
      stripeSubscriptionId: `sub_${prefix}${i}abcdefgh`,
    });
    ids.push(id);
  }
  return ids;
}

/**
 * Collects sync requests the CLI publishes; marks them handled like the sync-consumer would.
 * Resolves once the consumer reads new messages: a new group without `fromBeginning` starts at
 * the partitions' ends only when it has joined and looked them up, so a request published before
 * then would be skipped. It sends marker requests until it sees one.
 */
async function fakeSyncConsumer(
  onRequest: (envelope: Envelope<{ subscriptionId: string }>) => Promise<void>,
) {
  const marker = `sub-${randomUUID().replaceAll("-", "")}`;
  let reading = false;
  const consumer = await startConsumer(client, {
    groupId: uniqueName("fake-sync"),
    topics: [topics.sync],
    fromBeginning: false,
    retry: { retryTopic: false },
    handler: async (envelope) => {
      const request = envelope as Envelope<{ subscriptionId: string }>;
      if (request.data.subscriptionId === marker) reading = true;
      else await onRequest(request);
    },
  });
  consumers.push(consumer);
  const producer = createProducer(client);
  try {
    for (const deadline = Date.now() + 30_000; !reading; ) {
      if (Date.now() > deadline) throw new Error("the fake sync-consumer never read its marker");
      await producer.publish(topics.sync, operatorSyncRequest(marker));
      for (let i = 0; i < 10 && !reading; i++) await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await producer.disconnect();
  }
}

describe("bridge CLI", () => {
  it("refuses unknown commands, missing arguments and missing configuration with exit 2", async () => {
    expect((await cli("nope")).code).toBe(2);
    expect((await cli("resync")).code).toBe(2);
    const code = await runCli(["lag"], {}, { out: () => {}, err: () => {} });
    expect(code).toBe(2);
  });

  it("resync: unknown subscription → exit 1; known → waits until the sync-consumer applied it", async () => {
    expect((await cli("resync", "sub-ffffffffffffffffffffffffffffffff", "--wait-ms", "500")).code).toBe(1);
    const [id] = await seedLinked(1, "a1");
    const seen: string[] = [];
    await fakeSyncConsumer(async (envelope) => {
      if (envelope.data.subscriptionId !== id) return;
      seen.push(envelope.id);
      await store.db.inboxMessage.create({ data: { consumer: "sync-consumer", messageId: envelope.id } });
    });
    const result = await cli("resync", id!, "--wait-ms", "20000");
    expect(result).toMatchObject({ code: 0 });
    expect(result.out).toContain(`synced ${id}`);
    expect(seen).toHaveLength(1);
  });

  it("resync-all: queues one request per linked subscription, in batches, and resumes after a cursor", async () => {
    const ids = await seedLinked(5, "b2");
    const requested = new Set<string>();
    await fakeSyncConsumer(async (envelope) => {
      if (ids.includes(envelope.data.subscriptionId)) requested.add(envelope.data.subscriptionId);
    });
    const resumed = await cli("resync-all", "--batch", "2", "--after", ids[1]!);
    expect(resumed.code).toBe(0);
    const deadline = Date.now() + 20_000;
    while (requested.size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect([...requested].sort()).toEqual(ids.slice(2));
    expect(resumed.err).toContain("[##############################]");
  });

  it("dlq-list shows a dead-lettered message with its error and dlq-redrive puts it back", async () => {
    const topic = uniqueName("cli-dlq");
    await ensureTopics(client, topicWithCompanions(topic, { partitions: 1 }));
    let fail = true;
    let handled = 0;
    consumers.push(
      await startConsumer(client, {
        groupId: uniqueName("cli-dlq-group"),
        topics: [topic],
        retry: { retryTopic: false, attempts: 1 },
        handler: async () => {
          if (fail) throw new PermanentError("offer missing from catalog");
          handled += 1;
        },
      }),
    );
    const producer = createProducer(client);
    const id = randomUUID();
    await producer.publish(topic, {
      key: "sub-x",
      envelope: {
        id,
        type: "t",
        version: 1,
        occurredAt: new Date().toISOString(),
        source: "test",
        correlationId: id,
        data: {},
      },
    });
    await producer.disconnect();

    let listed = await cli("dlq-list", topic);
    for (let i = 0; i < 100 && !listed.out.includes("offer missing"); i += 1) {
      await new Promise((r) => setTimeout(r, 200));
      listed = await cli("dlq-list", topic);
    }
    expect(listed.code).toBe(0);
    expect(listed.out).toContain("offer missing from catalog");
    expect(listed.out).toContain("key=sub-x");

    fail = false;
    const redriven = await cli("dlq-redrive", topic);
    expect(redriven).toMatchObject({ code: 0 });
    expect(redriven.out).toContain(`→ ${topic}`);
    const deadline = Date.now() + 20_000;
    while (handled === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(handled).toBe(1);
  });

  it("lag reports every bridge consumer group per partition", async () => {
    const result = await cli("lag");
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/stripe-writer: total lag \d+/);
    expect(result.out).toMatch(/sync-consumer: total lag \d+/);
    expect(result.out).toContain(`${topics.orders}[0]`);
    expect((await cli("lag", "--group", "nobody")).code).toBe(2);
  });
});

const exportFile = path.resolve(import.meta.dirname, "../../../test/fixtures/limio/offer-export.json");

describe("bridge catalog load", () => {
  it("loads Limio's offer export, says what it did per offer, and is a no-op the second time", async () => {
    const first = await cli("catalog", "load", exportFile);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(
      /^added {5}6eacdc8ea4d77136c0ca25029fa60fe03310139e version 66bf01e9\S+ {2}Weekend Print Monthly$/m,
    );
    expect(first.out).toContain("2 added, 0 updated, 0 unchanged");
    expect((await findOffer(store.db, "6eacdc8ea4d77136c0ca25029fa60fe03310139e"))?.stripeProductCode).toBe(
      "prod_LedgerWeekend01",
    );
    const again = await cli("catalog", "load", exportFile);
    expect(again.code).toBe(0);
    expect(again.out).toContain("0 added, 0 updated, 2 unchanged");
  });

  it("refuses a broken offer naming it and the field, loading nothing (exit 1); usage errors exit 2", async () => {
    const offers = JSON.parse(await readFile(exportFile, "utf8"));
    offers[1].id = "1234567890123456789012345678901234567890";
    offers[0].data.attributes.term__limio = { length: 0, type: "months" };
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), "catalog-")), "broken.json");
    await writeFile(file, JSON.stringify(offers));
    const broken = await cli("catalog", "load", file);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`offer '${offers[0].id}' offers.0.data.attributes.term__limio.length: `);
    expect(await findOffer(store.db, offers[1].id)).toBeNull();

    expect((await cli("catalog", "load")).code).toBe(2);
    expect((await cli("catalog", "unload", exportFile)).code).toBe(2);
    expect((await cli("catalog", "load", "/nonexistent.json")).code).toBe(2);
  });
});
