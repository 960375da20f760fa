import { uniqueName } from "@bridge/local-infra/testing";
import { afterAll, describe, expect, it } from "vitest";
import { envelope, freshTopicWithCompanions, testClient, until } from "../test/support.ts";
import { type MessageContext, type RunningConsumer, startConsumer } from "./consumer.ts";
import { readTopic, redrive } from "./dlq.ts";
import { PermanentError } from "./errors.ts";
import { failureHeaders } from "./failure-headers.ts";
import { createProducer } from "./producer.ts";
import { dlqTopicOf } from "./topics.ts";

const client = testClient("dlq-test");
const producer = createProducer(client);
const running: RunningConsumer[] = [];

afterAll(async () => {
  await Promise.all(running.map((c) => c.stop()));
  await producer.disconnect();
});

describe("DLQ re-drive", () => {
  it("republishes to the original topic with key and headers, and the message is then handled", async () => {
    const topic = await freshTopicWithCompanions(client, "redrive");
    const dlq = dlqTopicOf(topic);
    const a = envelope({ name: "a" });
    const b = envelope({ name: "b" });
    await producer.publish(topic, { key: "sub-a", envelope: a, headers: { traceparent: "00-trace-a" } });
    await producer.publish(topic, { key: "sub-b", envelope: b });

    let broken = true;
    const handled: { id: string; ctx: MessageContext }[] = [];
    running.push(
      await startConsumer(client, {
        groupId: uniqueName("redrive"),
        topics: [topic],
        handler: async (e, ctx) => {
          if (broken) throw new PermanentError("bug in handler");
          handled.push({ id: e.id, ctx });
        },
      }),
    );
    await until(async () => (await readTopic(client, dlq)).length === 2, 20_000, "two DLQ entries");
    expect(await readTopic(client, dlq, { limit: 1 })).toHaveLength(1);
    const entries = await readTopic(client, dlq);
    const entryA = entries.find((e) => e.headers["x-message-id"] === a.id);
    expect(entryA?.errorClass).toBe("permanent");

    broken = false; // "the fix is deployed"
    const redriven = await redrive(client, dlq, { ids: [entryA?.id ?? "?"] });
    expect(redriven).toEqual([{ id: entryA?.id, topic }]);
    await until(() => handled.length === 1, 20_000, "re-driven message handled");
    const [got] = handled;
    expect(got?.id).toBe(a.id);
    expect(got?.ctx.topic).toBe(topic);
    expect(got?.ctx.key).toBe("sub-a");
    expect(got?.ctx.headers.traceparent).toBe("00-trace-a");
    expect(got?.ctx.headers[failureHeaders.redrivenFrom]).toBe(
      `${dlq}/${entryA?.partition}/${entryA?.offset}`,
    );
    expect(got?.ctx.headers[failureHeaders.errorClass]).toBeUndefined();
    expect(got?.ctx.headers[failureHeaders.originalOffset]).toBeUndefined();

    // b was not selected: still only a handled; re-driving everything brings b too.
    await redrive(client, dlq);
    await until(() => handled.some((h) => h.id === b.id), 20_000, "b handled");
  });

  it("rejects ids that are not in the DLQ", async () => {
    const topic = await freshTopicWithCompanions(client, "redrive-missing");
    await expect(redrive(client, dlqTopicOf(topic), { ids: ["0-99"] })).rejects.toThrow(/not in/);
  });
});
