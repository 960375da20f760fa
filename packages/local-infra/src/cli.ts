// Starts Kafka and Postgres (see infra.ts), prints shell-eval-able lines on stdout, then keeps
// them running until SIGINT/SIGTERM (or stdin closing with --stop-on-stdin-close):
//
//   KAFKA_BROKERS=127.0.0.1:40123
//   DATABASE_URL=postgresql://postgres@127.0.0.1:40124/postgres
//   # pids: ...
//   # local-infra ready
//
// Usage: node packages/local-infra/src/cli.ts   (human-readable progress goes to stderr)
import { describeInfra, startInfra } from "./infra.ts";
import { log } from "./log.ts";

const READY_MARKER = "# local-infra ready";

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  const infra = await startInfra();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping infrastructure`);
    infra.stop().then(
      () => {
        log("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log(`stop failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGHUP", () => shutdown("SIGHUP"));

  log(describeInfra(infra));
  process.stdout.write(
    [
      `KAFKA_BROKERS=${shellQuote(infra.kafkaBrokers)}`,
      `DATABASE_URL=${shellQuote(infra.databaseUrl)}`,
      `# kafka ${infra.kafkaVersion} (${infra.mode.kafka}); ${infra.postgresVersion.split(" on ")[0]} (${infra.mode.postgres})`,
      `# pids: ${infra.pids.join(" ")}`,
      READY_MARKER,
      "",
    ].join("\n"),
  );
  // Keep the process alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

main().catch((error: unknown) => {
  log(`failed to start: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
