import type { ParseArgsOptionsConfig } from "node:util";
import { dlqTopicOf } from "@bridge/messaging";
import type { CliContext } from "../context.ts";

type CommandArgs = {
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
};

/** One operator action. `run` resolves to the process exit code (0 ok, 1 failed or drift found). */
export type Command = {
  name: string;
  summary: string;
  usage: string;
  options?: ParseArgsOptionsConfig;
  run(ctx: CliContext, args: CommandArgs): Promise<number>;
};

export const exitCodes = { ok: 0, failed: 1, usage: 2, timedOut: 3 } as const;

/** `limio.orders.v1` or `limio.orders.v1.dlq` → the DLQ topic; undefined when missing. */
export function dlqTopicArg(positionals: string[]): { topic: string; dlq: string } | undefined {
  const [topic] = positionals;
  if (!topic) return undefined;
  return { topic, dlq: topic.endsWith(".dlq") ? topic : dlqTopicOf(topic) };
}
