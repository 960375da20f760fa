import { readTopic } from "@bridge/messaging";
import { type Command, dlqTopicArg, exitCodes } from "./command.ts";

/** Show what is parked in a topic's DLQ and why. */
export const dlqList: Command = {
  name: "dlq-list",
  summary: "list the messages in a topic's dead-letter queue, with their error",
  usage: "bridge dlq-list <topic> [--limit 50]   (topic: e.g. limio.orders.v1, or its .dlq name)",
  options: { limit: { type: "string", default: "50" } },
  async run(ctx, { positionals, values }) {
    const target = dlqTopicArg(positionals);
    if (!target) {
      ctx.err(`usage: ${this.usage}`);
      return exitCodes.usage;
    }
    const { topic, dlq } = target;
    const entries = await readTopic(ctx.kafka(this.name), dlq, { limit: Number(values.limit) });
    if (entries.length === 0) {
      ctx.out(`${dlq} is empty`);
      return exitCodes.ok;
    }
    for (const entry of entries) {
      ctx.out(
        [
          entry.id,
          `key=${entry.key ?? "-"}`,
          `class=${entry.errorClass ?? "?"}`,
          `from=${entry.original.topic ?? "?"}/${entry.original.partition ?? "?"}/${entry.original.offset ?? "?"}`,
          `at=${entry.failedAt ?? "?"}`,
          `error=${entry.errorMessage ?? ""}`,
        ].join("  "),
      );
    }
    ctx.out(
      `${entries.length} message(s) in ${dlq}; re-drive with: bridge dlq-redrive ${topic} [--id <id> ...]`,
    );
    return exitCodes.ok;
  },
};
