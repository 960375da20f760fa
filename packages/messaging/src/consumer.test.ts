import { uniqueName } from "@bridge/local-infra/testing";
import { afterAll, describe, expect, it } from "vitest";
import { committedOffsets, envelope, freshTopicWithCompanions, testClient, until } from "../test/support.ts";
import { type RunningConsumer, startConsumer } from "./consumer.ts";
import { readTopic } from "./dlq.ts";
import { FatalError, PermanentError, RetryableError } from "./errors.ts";
import { failureHeaders } from "./failure-headers.ts";
import { createKafkaProducer } from "./producer.ts";
import { dlqTopicOf, retryTopicOf } from "./topics.ts";

const client = testClient("consumer-test");
const producer = createKafkaProducer(client);
const running: RunningConsumer[] = [];
async function start(options: Parameters<typeof startConsumer>[1]): Promise<RunningConsumer> {
  const c = await startConsumer(client, options);
  running.push(c);
  return c;
}

/** `count` messages of one key on a new topic, sent in one produce request (one batch to a consumer). */
async function oneBatchOf(count: number, prefix: string) {
  const topic = await freshTopicWithCompanions(client, prefix);
  const sent = Array.from({ length: count }, (_, n) => envelope({ n }));
  await producer.publishBatch(
    topic,
    sent.map((m) => ({ key: "sub-1", envelope: m })),
  );
  return { topic, groupId: uniqueName(prefix), sent };
}

afterAll(async () => {
  await Promise.all(running.map((c) => c.stop()));
  await producer.disconnect();
});

describe("commit only after success", () => {
  it("retries a failing message in place, commits nothing past it, and a restarted consumer gets it again", async () => {
    const topic = await freshTopicWithCompanions(client, "commit");
    const groupId = uniqueName("commit");
    const [m1, m2, m3] = [envelope({ n: 1 }), envelope({ n: 2 }), envelope({ n: 3 })];
    for (const m of [m1, m2, m3]) await producer.publish(topic, { key: "sub-1", envelope: m });

    const handled: string[] = [];
    let m2Attempts = 0;
    const first = await start({
      groupId,
      topics: [topic],
      retry: { attempts: 1_000, baseDelayMs: 20, maxDelayMs: 50 },
      handler: async (e) => {
        if (e.id === m2?.id) {
          m2Attempts++;
          throw new RetryableError("downstream unavailable");
        }
        handled.push(e.id);
      },
    });
    await until(() => m2Attempts >= 5, 20_000, "m2 retried in place");
    expect(handled).toEqual([m1?.id]);
    expect(await committedOffsets(client, groupId, topic)).toEqual([1]); // m1 only
    await first.stop();
    expect(await committedOffsets(client, groupId, topic)).toEqual([1]);
    expect(handled).toEqual([m1?.id]); // m3 never handled past the failing m2

    const again: string[] = [];
    await start({
      groupId,
      topics: [topic],
      handler: async (e) => {
        again.push(e.id);
      },
    });
    await until(() => again.length === 2, 20_000, "m2 and m3 after restart");
    expect(again).toEqual([m2?.id, m3?.id]);
    await until(async () => (await committedOffsets(client, groupId, topic))[0] === 3, 10_000, "commit of 3");
  });

  it("per batch: the deferred writes are made durable before the commit; a failed one leaves the batch to be redelivered", async () => {
    const topic = await freshTopicWithCompanions(client, "per-batch");
    const groupId = uniqueName("per-batch");
    const sent = [envelope({ n: 1 }), envelope({ n: 2 }), envelope({ n: 3 })];
    await producer.publishBatch(
      topic,
      sent.map((m) => ({ key: "sub-1", envelope: m })),
    );
    // What a handler deferred (think: inbox rows), made durable only by beforeCommit.
    let deferred: { id: string; offset: number }[] = [];
    const durable: string[] = [];
    /** At each flush: the committed offset, and the lowest offset of what it makes durable. */
    const flushes: { committed: number; lowest: number }[] = [];
    let failNextFlush = true;
    await start({
      groupId,
      topics: [topic],
      handler: async (e, context) => {
        deferred.push({ id: e.id, offset: Number(context.offset) });
      },
      commitPerBatch: {
        beforeCommit: async (t) => {
          const [committed = -1] = await committedOffsets(client, groupId, t);
          flushes.push({ committed, lowest: Math.min(...deferred.map((d) => d.offset)) });
          if (failNextFlush) {
            failNextFlush = false;
            deferred = []; // the write failed: nothing of it is durable
            throw new Error("store unavailable");
          }
          durable.push(...deferred.map((d) => d.id));
          deferred = [];
        },
      },
    });
    await until(async () => (await committedOffsets(client, groupId, topic))[0] === 3, 20_000, "commit of 3");
    // The failed flush committed nothing, so the batch came again and every message is durable once.
    expect(durable.sort()).toEqual(sent.map((m) => m.id).sort());
    // No commit ever ran ahead of its flush: what a flush writes is never committed already.
    expect(flushes.length).toBeGreaterThanOrEqual(2);
    for (const f of flushes) expect(f.committed).toBeLessThanOrEqual(f.lowest);
  });

  it("per batch: a batch that outlasts the session keeps its membership (heartbeats between messages)", async () => {
    const { topic, groupId, sent } = await oneBatchOf(24, "long-batch");
    const handled: string[] = [];
    await start({
      groupId,
      topics: [topic],
      // 24 × 400 ms is longer than the session (6 s, the broker's minimum), and no commit comes
      // before the batch's end (a commit also keeps a member alive): without heartbeats inside the
      // batch the member is evicted, the group rebalances and the batch is handled again.
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      handler: async (e) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        handled.push(e.id);
      },
      commitPerBatch: { intervalMs: 60_000, beforeCommit: async () => {} },
    });
    await until(
      async () => (await committedOffsets(client, groupId, topic))[0] === 24,
      50_000,
      "commit of 24",
    );
    expect(handled).toEqual(sent.map((m) => m.id));
  }, 60_000);

  it("per batch: commits inside a long batch once per interval, never ahead of what was handled", async () => {
    const { topic, groupId, sent } = await oneBatchOf(8, "interval-commit");
    const handled: string[] = [];
    /** The committed offset seen at each flush, and how many messages were handled by then. */
    const flushes: { committed: number; handled: number }[] = [];
    await start({
      groupId,
      topics: [topic],
      handler: async (e) => {
        await new Promise((resolve) => setTimeout(resolve, 250));
        handled.push(e.id);
      },
      commitPerBatch: {
        intervalMs: 500,
        beforeCommit: async (t) => {
          const [committed = -1] = await committedOffsets(client, groupId, t);
          flushes.push({ committed, handled: handled.length });
        },
      },
    });
    await until(async () => (await committedOffsets(client, groupId, topic))[0] === 8, 30_000, "commit of 8");
    expect(handled).toEqual(sent.map((m) => m.id));
    // Committed along the way (8 × 250 ms at one commit per 500 ms), not only at the batch's end.
    expect(flushes.length).toBeGreaterThanOrEqual(3);
    for (const f of flushes) expect(f.committed).toBeLessThanOrEqual(f.handled);
  });

  it("honours retryAfterMs between in-place attempts", async () => {
    const topic = await freshTopicWithCompanions(client, "retry-after");
    await producer.publish(topic, { key: "k", envelope: envelope({}) });
    const attemptsAt: number[] = [];
    await start({
      groupId: uniqueName("retry-after"),
      topics: [topic],
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      handler: async () => {
        attemptsAt.push(Date.now());
        if (attemptsAt.length < 3) throw new RetryableError("429", { retryAfterMs: 400 });
      },
    });
    await until(() => attemptsAt.length === 3, 20_000, "3 attempts");
    const gaps = attemptsAt.slice(1).map((t, i) => t - (attemptsAt[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(390);
  });

  it("after the in-place attempts goes through <topic>.retry, then to the DLQ", async () => {
    const topic = await freshTopicWithCompanions(client, "retry-topic");
    const sent = envelope({ will: "fail" });
    await producer.publish(topic, { key: "sub-r", envelope: sent });
    const seen: { topic: string; round: number; attempt: number }[] = [];
    await start({
      groupId: uniqueName("retry-topic"),
      topics: [topic],
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5, retryRounds: 1, retryTopicDelayMs: 200 },
      handler: async (_e, ctx) => {
        seen.push({ topic: ctx.topic, round: ctx.retryRound, attempt: ctx.attempt });
        throw new Error("unclassified, so retryable");
      },
    });
    await until(async () => (await readTopic(client, dlqTopicOf(topic))).length === 1, 20_000, "DLQ entry");
    expect(seen).toEqual([
      { topic, round: 0, attempt: 1 },
      { topic, round: 0, attempt: 2 },
      { topic: `${topic}.retry`, round: 1, attempt: 1 },
      { topic: `${topic}.retry`, round: 1, attempt: 2 },
    ]);
    const [entry] = await readTopic(client, dlqTopicOf(topic));
    expect(entry?.errorClass).toBe("retryable");
    expect(entry?.original).toEqual({ topic, partition: 0, offset: "0" });
    expect(entry?.key).toBe("sub-r");
    expect(JSON.parse(entry?.value?.toString() ?? "")).toEqual(sent);
  });

  it("sends a PermanentError that escapes the handler to the DLQ without retrying", async () => {
    const topic = await freshTopicWithCompanions(client, "permanent");
    await producer.publish(topic, { key: "k", envelope: envelope({}) });
    let attempts = 0;
    await start({
      groupId: uniqueName("permanent"),
      topics: [topic],
      handler: async () => {
        attempts++;
        throw new PermanentError("card declined");
      },
    });
    await until(async () => (await readTopic(client, dlqTopicOf(topic))).length === 1, 20_000, "DLQ entry");
    expect(attempts).toBe(1);
    const [entry] = await readTopic(client, dlqTopicOf(topic));
    expect(entry?.errorClass).toBe("permanent");
    expect(entry?.errorMessage).toBe("card declined");
  });
});

describe("a message not due yet holds up only its own partition", () => {
  /**
   * Publishes one probe after another, each on a new key (so on either partition), and waits for
   * each to be handled within `withinMs`: while some other message waits for its time, every probe
   * outside `pausedPartition` must still be handled promptly. Returns the partitions of those.
   */
  async function probesHandledPromptly(
    topic: string,
    handledProbes: Map<string, number>,
    options: { count: number; withinMs: number; pausedPartition?: number },
  ): Promise<Set<number>> {
    const partitions = new Set<number>();
    for (let n = 0; n < options.count; n++) {
      const probe = envelope({ probe: n });
      const receipt = await producer.publish(topic, { key: `probe-${n}-${probe.id}`, envelope: probe });
      if (receipt.partition === options.pausedPartition) continue;
      await until(() => handledProbes.has(probe.id), options.withinMs, `probe ${n} handled promptly`);
      partitions.add(handledProbes.get(probe.id) ?? -1);
    }
    return partitions;
  }

  it("while a retry message waits for its time, the main topic's partitions are handled promptly", async () => {
    const topic = await freshTopicWithCompanions(client, "retry-wait", 2);
    const groupId = uniqueName("retry-wait");
    const failing = envelope({ fails: "once" });
    const probes = new Map<string, number>();
    const failingTries: { topic: string; at: number }[] = [];
    await start({
      groupId,
      topics: [topic],
      maxWaitTimeMs: 100,
      retry: { attempts: 1, retryRounds: 1, retryTopicDelayMs: 6_000 },
      handler: async (e, ctx) => {
        if (e.id !== failing.id) {
          probes.set(e.id, ctx.partition);
          return;
        }
        failingTries.push({ topic: ctx.topic, at: Date.now() });
        if (ctx.retryRound === 0) throw new RetryableError("downstream unavailable");
      },
    });
    await producer.publish(topic, { key: "sub-failing", envelope: failing });
    await until(
      async () => (await readTopic(client, retryTopicOf(topic))).length === 1,
      20_000,
      "forwarded to the retry topic",
    );
    // kafkajs fetches again only once every batch of its last fetch is done: a retry message
    // waiting inside its batch held up every partition for its whole delay.
    const partitions = await probesHandledPromptly(topic, probes, { count: 12, withinMs: 2_000 });
    expect(partitions).toEqual(new Set([0, 1]));
    expect(failingTries.length).toBe(1); // still waiting for its time
    await until(() => failingTries.length === 2, 20_000, "the retry handled when due");
    const [first, retried] = failingTries;
    expect(retried?.topic).toBe(retryTopicOf(topic));
    expect((retried?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(6_000);
    await until(
      async () => (await committedOffsets(client, groupId, retryTopicOf(topic))).includes(1),
      10_000,
      "the retry message committed",
    );
  }, 60_000);

  it("a long backoff pauses only the message's partition: its attempts keep counting and its key's order is kept", async () => {
    const topic = await freshTopicWithCompanions(client, "long-backoff", 2);
    const failing = envelope({ fails: "twice" });
    const after = envelope({ after: "the failing one, same key" });
    const probes = new Map<string, number>();
    const tries: { attempt: number; partition: number; at: number }[] = [];
    const sameKey: string[] = [];
    await start({
      groupId: uniqueName("long-backoff"),
      topics: [topic],
      maxWaitTimeMs: 100,
      // No retry topic (like the order-outcome callback): the waits are in place, 3 s each.
      retry: { retryTopic: false, attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      handler: async (e, ctx) => {
        if (e.id === failing.id) {
          tries.push({ attempt: ctx.attempt, partition: ctx.partition, at: Date.now() });
          if (tries.length < 3) throw new RetryableError("429", { retryAfterMs: 3_000 });
        }
        if (e.id === failing.id || e.id === after.id) sameKey.push(e.id);
        else probes.set(e.id, ctx.partition);
      },
    });
    await producer.publishBatch<unknown>(topic, [
      { key: "sub-backoff", envelope: failing },
      { key: "sub-backoff", envelope: after },
    ]);
    await until(() => tries.length === 1, 20_000, "the first attempt");
    const pausedPartition = tries[0]?.partition ?? -1;
    const partitions = await probesHandledPromptly(topic, probes, {
      count: 10,
      withinMs: 2_000,
      pausedPartition,
    });
    expect(partitions).toEqual(new Set([1 - pausedPartition]));
    await until(() => sameKey.length === 2, 20_000, "the failing message, then the next of its key");
    expect(sameKey).toEqual([failing.id, after.id]);
    expect(tries.map((t) => t.attempt)).toEqual([1, 2, 3]);
    for (let n = 1; n < tries.length; n++) {
      expect((tries[n]?.at ?? 0) - (tries[n - 1]?.at ?? 0)).toBeGreaterThanOrEqual(3_000);
    }
  }, 60_000);

  it("a Retry-After longer than the in-place wait goes to the retry topic at once, due no earlier", async () => {
    const topic = await freshTopicWithCompanions(client, "long-retry-after");
    const tries: { topic: string; attempt: number; at: number }[] = [];
    await start({
      groupId: uniqueName("long-retry-after"),
      topics: [topic],
      maxWaitTimeMs: 100,
      retry: { attempts: 5, retryRounds: 1, retryTopicDelayMs: 100 },
      handler: async (_e, ctx) => {
        tries.push({ topic: ctx.topic, attempt: ctx.attempt, at: Date.now() });
        if (tries.length === 1) throw new RetryableError("429", { retryAfterMs: 3_000 });
      },
    });
    await producer.publish(topic, { key: "k", envelope: envelope({}) });
    await until(() => tries.length === 2, 20_000, "the retry");
    expect(tries.map((t) => [t.topic, t.attempt])).toEqual([
      [topic, 1],
      [retryTopicOf(topic), 1],
    ]);
    expect((tries[1]?.at ?? 0) - (tries[0]?.at ?? 0)).toBeGreaterThanOrEqual(3_000);
  });
});

describe("poison messages", () => {
  it("sends envelope types without a handler to the DLQ as unhandled (or skips them when asked)", async () => {
    const topic = await freshTopicWithCompanions(client, "unhandled");
    const known = envelope({}, { type: "known.v1" });
    const unknown = envelope({}, { type: "brand.new.type" });
    await producer.publish(topic, { key: "k", envelope: unknown });
    await producer.publish(topic, { key: "k", envelope: known });
    const handled: string[] = [];
    await start({
      groupId: uniqueName("unhandled"),
      topics: [topic],
      handlers: { "known.v1": async (e) => void handled.push(e.id) },
    });
    await until(() => handled.length === 1, 20_000, "known handled");
    const dlq = await readTopic(client, dlqTopicOf(topic));
    expect(dlq.map((d) => [d.headers["x-message-id"], d.errorClass])).toEqual([[unknown.id, "unhandled"]]);
  });
  it("go to the DLQ with raw bytes and error headers, and the partition moves on", async () => {
    const topic = await freshTopicWithCompanions(client, "poison");
    const groupId = uniqueName("poison");
    const notJson = Buffer.from([0x7b, 0x6e, 0x6f, 0x74, 0xff, 0xfe]); // "{not" + invalid UTF-8
    const notEnvelope = Buffer.from(JSON.stringify({ id: 42, hello: "world" }));
    const good = envelope({ fine: true });
    await producer.sendRaw(topic, [
      { key: "sub-p", value: notJson, headers: { "x-custom": "a" } },
      { key: "sub-p", value: notEnvelope, headers: {} },
    ]);
    await producer.publish(topic, { key: "sub-p", envelope: good });

    const handled: string[] = [];
    await start({
      groupId,
      topics: [topic],
      handler: async (e) => {
        handled.push(e.id);
      },
    });
    await until(() => handled.length === 1, 20_000, "the good message");
    expect(handled).toEqual([good.id]);
    await until(
      async () => (await committedOffsets(client, groupId, topic))[0] === 3,
      10_000,
      "commit past poison",
    );

    const dlq = await readTopic(client, dlqTopicOf(topic));
    expect(dlq).toHaveLength(2);
    const [first, second] = dlq;
    expect(first?.value?.equals(notJson)).toBe(true);
    expect(first?.key).toBe("sub-p");
    expect(first?.headers["x-custom"]).toBe("a");
    expect(first?.errorClass).toBe("poison");
    expect(first?.errorMessage).toMatch(/not JSON/);
    expect(first?.original).toEqual({ topic, partition: 0, offset: "0" });
    expect(Number.isNaN(Date.parse(first?.failedAt ?? ""))).toBe(false);
    expect(second?.value?.equals(notEnvelope)).toBe(true);
    expect(second?.errorClass).toBe("poison");
    expect(second?.errorMessage).toMatch(/not a valid envelope/);
    expect(second?.headers[failureHeaders.originalOffset]).toBe("1");
    expect(second?.headers[failureHeaders.originalPartition]).toBe("0");
    expect(second?.headers[failureHeaders.originalTopic]).toBe(topic);
  });
});

describe("ordering", () => {
  it("keeps per-key order while partitions are handled concurrently", async () => {
    const topic = await freshTopicWithCompanions(client, "order", 4);
    const keys = Array.from({ length: 8 }, (_, i) => `sub-${i}`);
    const perKey = 25;
    const messages = [];
    for (let seq = 0; seq < perKey; seq++) {
      for (const key of keys) messages.push({ key, envelope: envelope({ key, seq }) });
    }
    const producerPublic = producer;
    await producerPublic.publishBatch(topic, messages);

    const seen = new Map<string, number[]>();
    let inFlight = 0;
    let maxInFlight = 0;
    await start({
      groupId: uniqueName("order"),
      topics: [topic],
      concurrency: 4,
      handler: async (e) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, Math.random() * 4));
        const { key, seq } = e.data as { key: string; seq: number };
        seen.set(key, [...(seen.get(key) ?? []), seq]);
        inFlight--;
      },
    });
    await until(
      () => [...seen.values()].reduce((n, s) => n + s.length, 0) === keys.length * perKey,
      30_000,
      "all",
    );
    const expected = Array.from({ length: perKey }, (_, i) => i);
    for (const key of keys) expect(seen.get(key)).toEqual(expected);
    expect(maxInFlight).toBeGreaterThan(1); // partitions really ran concurrently
  });
});

describe("crash", () => {
  it("a fatal handler error crashes the consumer, exits non-zero and commits nothing for it", async () => {
    const topic = await freshTopicWithCompanions(client, "fatal");
    const groupId = uniqueName("fatal");
    await producer.publish(topic, { key: "k", envelope: envelope({ n: 1 }) });
    const bad = envelope({ n: 2 });
    await producer.publish(topic, { key: "k", envelope: bad });
    const exits: number[] = [];
    const handled: string[] = [];
    await start({
      groupId,
      topics: [topic],
      exit: (code) => exits.push(code),
      handler: async (e) => {
        if (e.id === bad.id) throw new FatalError("database schema missing");
        handled.push(e.id);
      },
    });
    await until(() => exits.length > 0, 20_000, "exit");
    expect(exits).toEqual([1]);
    expect(handled).toHaveLength(1);
    expect(await committedOffsets(client, groupId, topic)).toEqual([1]);
  });
});

describe("metrics", () => {
  it("counts handled, failed, retried and dead-lettered messages and times handler attempts", async () => {
    const { createMetrics } = await import("@bridge/observability");
    const { registry } = createMetrics("metrics-test", { defaultMetrics: false });
    const topic = await freshTopicWithCompanions(client, "metrics");
    const ok = envelope({ ok: true });
    const flaky = envelope({ flaky: true });
    await producer.sendRaw(topic, [{ key: "k", value: "not json", headers: {} }]);
    await producer.publish(topic, { key: "k", envelope: ok });
    await producer.publish(topic, { key: "k", envelope: flaky });
    let flakyAttempts = 0;
    const done: string[] = [];
    await start({
      groupId: uniqueName("metrics"),
      topics: [topic],
      registry,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      handler: async (e) => {
        if (e.id === flaky.id && ++flakyAttempts < 2) throw new RetryableError("once");
        done.push(e.id);
      },
    });
    await until(() => done.length === 2, 20_000, "two handled");
    const value = async (name: string, labels: Record<string, string>, series = name) => {
      const data = await registry.getSingleMetric(name)?.get();
      const match = data?.values.find(
        (v) =>
          ((v as { metricName?: string }).metricName ?? name) === series &&
          Object.entries(labels).every(([k, l]) => v.labels[k] === l),
      );
      return match?.value ?? 0;
    };
    expect(await value("messaging_messages_handled_total", { topic })).toBe(2);
    expect(await value("messaging_messages_failed_total", { topic, error_class: "retryable" })).toBe(1);
    expect(await value("messaging_messages_failed_total", { topic, error_class: "poison" })).toBe(1);
    expect(await value("messaging_messages_retried_total", { topic, where: "in_place" })).toBe(1);
    expect(await value("messaging_messages_dead_lettered_total", { topic, error_class: "poison" })).toBe(1);
    expect(
      await value(
        "messaging_handle_duration_seconds",
        { topic, outcome: "handled" },
        "messaging_handle_duration_seconds_count",
      ),
    ).toBe(2);
  });
});

describe("per-message logger", () => {
  it("binds the message id, type and correlation id to every line a handler writes", async () => {
    const { Writable } = await import("node:stream");
    const { pino } = await import("pino");
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const topic = await freshTopicWithCompanions(client, "logger");
    const sent = envelope({ n: 1 }, { correlationId: "corr-from-the-http-request", causationId: "cause-1" });
    let handled = false;
    await start({
      groupId: uniqueName("logger"),
      topics: [topic],
      logger: pino(sink),
      handler: async (_envelope, ctx) => {
        ctx.logger.info("applied");
        handled = true;
      },
    });
    await producer.publish(topic, { key: "k", envelope: sent });
    await until(() => handled, 20_000, "message handled");
    expect(lines.find((line) => line.msg === "applied")).toMatchObject({
      messageId: sent.id,
      messageType: sent.type,
      correlationId: "corr-from-the-http-request",
      causationId: "cause-1",
    });
  });
});
