import { createProducer, topics } from "@bridge/messaging";
import { findSubscription, isSyncHandled } from "@bridge/store";
import { type Command, exitCodes } from "./command.ts";
import { operatorSyncRequest } from "./sync-requests.ts";

/** Re-sync one Limio subscription from Stripe and wait until the sync-consumer applied it. */
export const resync: Command = {
  name: "resync",
  summary: "re-sync one Limio subscription from Stripe and wait for it to be applied",
  usage: "bridge resync <sub-id> [--wait-ms 30000]",
  options: { "wait-ms": { type: "string", default: "30000" } },
  async run(ctx, { positionals, values }) {
    const [subscriptionId] = positionals;
    if (!subscriptionId) {
      ctx.err(`usage: ${this.usage}`);
      return exitCodes.usage;
    }
    const store = ctx.store(this.name);
    if (!(await findSubscription(store.db, subscriptionId))) {
      ctx.err(`unknown Limio subscription ${subscriptionId}`);
      return exitCodes.failed;
    }
    const message = operatorSyncRequest(subscriptionId);
    const producer = createProducer(ctx.kafka(this.name));
    try {
      await producer.publish(topics.sync, message);
    } finally {
      await producer.disconnect();
    }
    const deadline = Date.now() + Number(values["wait-ms"]);
    while (Date.now() < deadline) {
      if (await isSyncHandled(store.db, message.envelope.id)) {
        ctx.out(`synced ${subscriptionId} (request ${message.envelope.id})`);
        return exitCodes.ok;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    ctx.err(
      `queued ${subscriptionId} (request ${message.envelope.id}) but not applied within ${values["wait-ms"]} ms`,
    );
    return exitCodes.timedOut;
  },
};
