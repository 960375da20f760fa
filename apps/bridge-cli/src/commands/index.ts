import { catalog } from "./catalog.ts";
import type { Command } from "./command.ts";
import { dlqList } from "./dlq-list.ts";
import { dlqRedrive } from "./dlq-redrive.ts";
import { importSubscription } from "./import.ts";
import { lag } from "./lag.ts";
import { reconcile } from "./reconcile.ts";
import { resync } from "./resync.ts";
import { resyncAll } from "./resync-all.ts";

/** Every operator command, by name. */
export const commands: Record<string, Command> = Object.fromEntries(
  [resync, resyncAll, reconcile, importSubscription, dlqList, dlqRedrive, lag, catalog].map((command) => [
    command.name,
    command,
  ]),
);
