import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createProducer, topics } from "@bridge/messaging";
import { countLinkedSubscriptions, listLinkedSubscriptions } from "@bridge/store";
import type { CliContext } from "../context.ts";
import { type Command, exitCodes } from "./command.ts";
import { operatorSyncRequest } from "./sync-requests.ts";

function cursorFile(ctx: CliContext): string {
  const dir = ctx.config.BRIDGE_STATE_DIR ?? path.join(os.homedir(), ".cache", "limio-stripe-bridge");
  return path.join(dir, "resync-all.cursor");
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

/**
 * Backfill: queue a sync request for every linked Limio subscription, in id order, in batches.
 * The last id queued is saved after each batch, so an interrupted run continues with --resume.
 */
export const resyncAll: Command = {
  name: "resync-all",
  summary: "queue a re-sync of every linked subscription (backfill), resumable",
  usage: "bridge resync-all [--batch 200] [--resume | --after <sub-id>]",
  options: {
    batch: { type: "string", default: "200" },
    resume: { type: "boolean", default: false },
    after: { type: "string" },
  },
  async run(ctx, { values }) {
    const batchSize = Number(values.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      ctx.err("--batch must be a positive whole number");
      return exitCodes.usage;
    }
    const file = cursorFile(ctx);
    let after = values.after as string | undefined;
    if (values.resume) after = (await readFile(file, "utf8").catch(() => "")).trim() || undefined;
    const store = ctx.store(this.name);
    const total = await countLinkedSubscriptions(store.db, { after });
    const producer = createProducer(ctx.kafka(this.name));
    let queued = 0;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      for (;;) {
        const page = await listLinkedSubscriptions(store.db, { after, limit: batchSize });
        if (page.length === 0) break;
        await producer.publishBatch(
          topics.sync,
          page.map((subscription) => operatorSyncRequest(subscription.id)),
        );
        queued += page.length;
        after = page.at(-1)?.id;
        await writeFile(file, `${after}\n`);
        ctx.err(progressBar(queued, total));
      }
    } finally {
      await producer.disconnect();
    }
    await rm(file, { force: true });
    ctx.out(`queued ${queued} sync requests`);
    return exitCodes.ok;
  },
};
