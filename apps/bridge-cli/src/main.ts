import { parseArgs } from "node:util";
import { ConfigError } from "@bridge/config";
import { exitCodes } from "./commands/command.ts";
import { commands } from "./commands/index.ts";
import { loadConfig, UsageError } from "./config.ts";
import { createContext } from "./context.ts";

export type Io = { out: (line: string) => void; err: (line: string) => void };

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function help(io: Io) {
  io.out("bridge: operate the Limio ⇄ Stripe bridge\n");
  for (const command of Object.values(commands)) io.out(`  ${command.usage}\n      ${command.summary}`);
  io.out(
    "\nEnvironment: KAFKA_BROKERS, DATABASE_URL (and STRIPE_SECRET_KEY, STRIPE_API_URL for Stripe reads).",
  );
}

/** Runs one CLI invocation and returns its exit code (exported for tests). */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: Io = stdio,
) {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help") {
    help(io);
    return name ? exitCodes.ok : exitCodes.usage;
  }
  const command = commands[name];
  if (!command) {
    io.err(`unknown command '${name}'; run 'bridge help'`);
    return exitCodes.usage;
  }
  let ctx: ReturnType<typeof createContext> | undefined;
  try {
    const { positionals, values } = parseArgs({
      args: rest,
      options: command.options ?? {},
      allowPositionals: true,
    });
    ctx = createContext(loadConfig(env), io);
    return await command.run(ctx, { positionals, values });
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      io.err((error as Error).message);
      return exitCodes.usage;
    }
    io.err(`bridge ${name} failed: ${(error as Error).message}`);
    return exitCodes.failed;
  } finally {
    await ctx?.close();
  }
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
  // kafkajs and pg keep sockets alive briefly after close; the CLI is done.
  process.exit();
}
