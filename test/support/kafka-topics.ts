// Reading a topic end to end for a failure's diagnosis: which message ids are in it at all.
import { createKafkaClient, readTopic } from "@bridge/messaging";
import { createLogger } from "@bridge/observability";

/** The `x-message-id` headers (the envelope ids) of every message in `topic`, up to its end now. */
export async function messageIdsInTopic(
  brokers: string,
  topic: string,
  timeoutMs = 30_000,
): Promise<Set<string>> {
  const client = createKafkaClient({
    brokers: [brokers],
    clientId: "fault-test-reader",
    logger: createLogger("fault-test-reader", { level: "silent" }),
  });
  const entries = await readTopic(client, topic, { timeoutMs });
  return new Set(entries.flatMap((entry) => entry.headers["x-message-id"] ?? []));
}
