import { redrive } from "@bridge/messaging";
import { type Command, dlqTopicArg, exitCodes } from "./command.ts";

/** Put DLQ messages back on their original topic once the cause is fixed. */
export const dlqRedrive: Command = {
  name: "dlq-redrive",
  summary: "re-drive dead-lettered messages (all, or chosen ids) to their original topic",
  usage: "bridge dlq-redrive <topic> [--id <partition-offset> ...]",
  options: { id: { type: "string", multiple: true } },
  async run(ctx, { positionals, values }) {
    const target = dlqTopicArg(positionals);
    if (!target) {
      ctx.err(`usage: ${this.usage}`);
      return exitCodes.usage;
    }
    const { dlq } = target;
    const ids = values.id as string[] | undefined;
    const done = await redrive(ctx.kafka(this.name), dlq, ids ? { ids } : {});
    for (const entry of done) ctx.out(`re-drove ${entry.id} → ${entry.topic}`);
    ctx.out(`${done.length} message(s) re-driven from ${dlq}`);
    return exitCodes.ok;
  },
};
