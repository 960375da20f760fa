import { consumerLag, retryTopicOf, topics } from "@bridge/messaging";
import { type Command, exitCodes } from "./command.ts";

/** The bridge's consumer groups and what they read. */
const consumerGroups: Record<string, string[]> = {
  "stripe-writer": [topics.orders, retryTopicOf(topics.orders), topics.stripeEvents],
  "sync-consumer": [topics.stripeEvents, topics.sync, topics.orderOutcomes].flatMap((t) => [
    t,
    retryTopicOf(t),
  ]),
};

/** Show how far each consumer group is behind, per partition. */
export const lag: Command = {
  name: "lag",
  summary: "show consumer lag per group, topic and partition",
  usage: "bridge lag [--group stripe-writer|sync-consumer]",
  options: { group: { type: "string" } },
  async run(ctx, { values }) {
    const group = values.group as string | undefined;
    if (group && !consumerGroups[group]) {
      ctx.err(`unknown group ${group}; known: ${Object.keys(consumerGroups).join(", ")}`);
      return exitCodes.usage;
    }
    const groups = group ? [group] : Object.keys(consumerGroups);
    for (const name of groups) {
      const partitions = await consumerLag(ctx.kafka(this.name), name, consumerGroups[name] ?? []);
      const total = partitions.reduce((sum, p) => sum + p.lag, 0);
      ctx.out(`${name}: total lag ${total}`);
      for (const p of partitions) {
        ctx.out(`  ${p.topic}[${p.partition}] committed=${p.committed} end=${p.end} lag=${p.lag}`);
      }
    }
    return exitCodes.ok;
  },
};
