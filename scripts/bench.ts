// `npm run bench`: runs every benchmark in the repo against one Kafka + Postgres (started here
// unless KAFKA_BROKERS / DATABASE_URL are set), then writes one report, Markdown and JSON, with
// the machine it ran on. Each benchmark measures its own baseline in the same run and reports
// ratios, so figures from different machines stay comparable.
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startInfraWithDatabase } from "@bridge/local-infra";

type BenchmarkEntry = {
  name: string;
  /** What the figures mean, for the report. */
  description: string;
  run: () => Promise<Record<string, unknown>>;
  /** One line of headline figures for the summary table. */
  headline: (result: Record<string, unknown>) => string;
  /** A readable table of the figures for the report, when JSON alone is hard to read. */
  details?: (result: Record<string, unknown>) => Promise<string>;
};

const budgetBenchmark = () => import("./bench/stripe-budget.bench.ts");
type BudgetResult = import("./bench/stripe-budget.bench.ts").StripeBudgetBenchmarkResult;
const stormBenchmark = () => import("./bench/renewal-storm.bench.ts");
type StormResult = import("./bench/renewal-storm.bench.ts").RenewalStormResult;
const drainBenchmark = () => import("./bench/drain-rss.bench.ts");
type DrainResult = import("./bench/drain-rss.bench.ts").DrainRssResult;
const scaleOutBenchmark = () => import("./bench/scale-out.bench.ts");
type ScaleOutResult = import("./bench/scale-out.bench.ts").ScaleOutResult;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const benchmarks: BenchmarkEntry[] = [
  {
    name: "ingest-gateway: POST /api/orders and signed POST /webhooks/stripe against a bare kafkajs producer",
    description:
      "Per route, closed loop at a fixed concurrency (default 32) for the maximum rate, then open loop at half that rate (fixed arrival rate, latency from each request's scheduled time) for p50/p99. Baseline in the same run: a bare kafkajs idempotent producer (acks=all, one request in flight) sending the same messages (bytes, keys, topic settings) in batches of the concurrency, back to back, to the same broker (and again in batches of the gateway's own measured mean batch, `producer*AtGatewayBatch`). Floors in the same run: a relay (`relay*`: a bare Fastify route that parses the same JSON body and publishes the same message through the gateway's own group commit, nothing else), measured the same way (its open loop at half its own maximum) and again in an open loop at the gateway route's half rate (`relay*AtGatewayHalfRate`), and a hello-world in an open loop at the orders' half rate (`helloAtOrdersHalfRate`): what HTTP leaves of Kafka's rate, and the tail no route can beat on this machine. The gateway logs at its default level (info). `serverCpuUsPerRequest` is the gateway thread's CPU per request, which load on the machine changes less than rates; `clientCpuUsPerRequest` the load generator's; `machineIdleShare` the share of all cores left idle. The whole section runs in a child process with the services' V8 flags (`nodeFlags`, the image's NODE_OPTIONS).",
    run: async () => (await import("../apps/ingest-gateway/bench/orders.bench.ts")).runGatewayBenchmark(),
    headline: (r) => {
      const g = r as unknown as import("../apps/ingest-gateway/bench/orders.bench.ts").GatewayBenchmarkResult;
      return `orders ${fmt(g.orders.maxRps, 0)}/s = ${fmt(g.ordersToProducer, 2)} of the bare producer's ${fmt(g.producerOrders.msgsPerSecond, 0)}/s, webhooks ${fmt(g.webhooks.maxRps, 0)}/s = ${fmt(g.webhooksToProducer, 2)} of ${fmt(g.producerWebhooks.msgsPerSecond, 0)}/s (target ≥ 0.5); p99 at half rate ${fmt(g.orders.halfRateP99Ms, 1)} / ${fmt(g.webhooks.halfRateP99Ms, 1)} ms (target < 20; major GCs meanwhile ${g.orders.halfRateGc.majorGcs} / ${g.webhooks.halfRateGc.majorGcs}); the relay floor ${fmt(g.relayOrdersToProducer, 2)} / ${fmt(g.relayWebhooksToProducer, 2)} of the producer, p99 at its own half rate ${fmt(g.relayOrders.halfRateP99Ms, 1)} / ${fmt(g.relayWebhooks.halfRateP99Ms, 1)} ms, at the gateway's ${fmt(g.relayOrdersAtGatewayHalfRate.p99Ms, 1)} / ${fmt(g.relayWebhooksAtGatewayHalfRate.p99Ms, 1)} ms (hello-world ${fmt(g.helloAtOrdersHalfRate.p99Ms, 1)} ms); load average ${g.loadAverage.end[0]}`;
    },
  },
  {
    name: "parse-encode: CPU of parseLimioOrder and encodeMessage per order, against the code before the field-rule trie",
    description:
      "µs of CPU per call of the domain's `parseLimioOrder` and the messaging's `encodeMessage` (the `limio.order.submitted` envelope), on the order the gateway bench sends (`--parse-orders=N`, default 5,000, each a fresh object), against the same functions at another commit (`--parse-base=<ref>`, default the commit before the field-rule trie), the two alternating in chunks of 250 calls; `--parse-rounds=N` (default 3) rounds, medians reported. Pure CPU, no Kafka or Postgres.",
    run: async () => (await import("./bench/parse-encode.bench.ts")).runParseEncodeBenchmark(),
    headline: (r) => {
      const p = r as unknown as import("./bench/parse-encode.bench.ts").ParseEncodeResult;
      return `parse ${p.median.parseUs.head} µs vs ${p.median.parseUs.base} µs at ${p.base} (${p.ratios.parseHeadToBase}×), encode ${p.median.encodeUs.head} µs vs ${p.median.encodeUs.base} µs (${p.ratios.encodeHeadToBase}×); load average ${p.loadAverage.end[0]?.toFixed(2)}`;
    },
  },
  {
    name: "stripe-writer: Stripe calls per action and orders/s under Stripe's 25 req/s test-mode limit",
    description:
      "Stripe calls each action makes against the minimum it needs (the emulator's request log), and new orders per second through real Kafka while the emulator enforces 25 req/s, as a fraction of what that limit allows (25 / minimum calls per order).",
    run: async () => (await import("../apps/stripe-writer/bench/writer.bench.ts")).runWriterBenchmark(),
    details: async (r) =>
      (await import("../apps/stripe-writer/bench/writer.bench.ts")).formatWriterBenchmark(
        r as unknown as Awaited<
          ReturnType<typeof import("../apps/stripe-writer/bench/writer.bench.ts").runWriterBenchmark>
        >,
      ),
    headline: (r) => {
      const calls = r.calls as { action: string; calls: number; minimum: number }[];
      const t = r.throughput as { ordersPerSecond: number; fractionOfBudget: number; failed: number };
      const atMinimum = calls.filter((c) => c.calls === c.minimum).length;
      return `${atMinimum}/${calls.length} actions at the minimum calls; ${fmt(t.ordersPerSecond, 2)} orders/s = ${fmt(t.fractionOfBudget, 3)} of the budget (target ≥ 0.9); ${t.failed} failed`;
    },
  },
  {
    name: "shared Stripe budget: 3 writers + 2 sync-consumers on one account at 25 req/s, orders during a renewal storm",
    description:
      "The real apps, each its own process: three stripe-writers and two sync-consumers on one Stripe key (the shared budget of decision 016), the gateway, Kafka and Postgres, against the emulator enforcing 25 requests/s (account and per endpoint). Orders arrive through POST /api/orders at a fixed rate (`--budget-orders-per-second=N`, default 2, for `--budget-seconds=N`, default 15), first alone (the latency baseline, same run), then while a renewal storm (`--budget-renewals=N`, default 120, one test clock advanced; enough to outlast the window, so that the sync competes with the writers throughout) keeps the sync-consumers busy. The storm's orders start when the storm reaches the budget, at the sync's first Stripe request (the sync trails the log by its 2 s settle wait, decision 023; `--budget-from-advance=1` starts them at the clock advance instead). The sync-consumers coalesce as the product does by default (`--budget-coalesce=0` refetches per event). The second table says where the time went: a writer request's mean wait for the budget, and the sync-consumers' handler time (busy fraction of their partition slots; its parts spent waiting for the budget, for Stripe's answers, in the settle wait and in transactions, Stripe reads included), and the requests second by second. Requests are the emulator's log over the window (from the first order until the last one is applied); an order's latency runs from its POST to its row turning applied or failed in Postgres.",
    run: async () => (await budgetBenchmark()).runStripeBudgetBenchmark(),
    details: async (r) => (await budgetBenchmark()).formatStripeBudgetBenchmark(r as unknown as BudgetResult),
    headline: (r) => {
      const { storm, alone, ratios } = r as unknown as BudgetResult;
      return `during the storm: ${fmt(storm.fractionOfBudget, 3)} of the budget (target ≥ 0.9), ${fmt(storm.http429Fraction * 100, 2)}% 429s (≤ 1%; ${storm.writer429s} on orders), ${storm.ordersFailed + alone.ordersFailed}/${storm.orders + alone.orders} orders failed; order p50/p99 ${fmt(storm.orderP50Ms, 0)}/${fmt(storm.orderP99Ms, 0)} ms vs ${fmt(alone.orderP50Ms, 0)}/${fmt(alone.orderP99Ms, 0)} ms alone (p99 ${fmt(ratios.orderP99StormToAlone, 2)}×)`;
    },
  },
  {
    name: "renewal storm: N renewals on one test clock through gateway, Kafka and sync-consumer under Stripe's limits",
    description:
      "N subscriptions (default 100, the acceptance figure is `--renewals=1000`) on one emulator test clock, created on the emulator with Limio's metadata and imported with the bridge's import (the writer cannot use test clocks), then the clock advanced past their renewal while the emulator enforces Stripe's test-mode limits, 25 requests/s for the account and per endpoint (`--account-limit=100` for live). Webhooks, delivered concurrently as Stripe's, go to the real gateway, Kafka and the sync-consumer process (shared budget, background lane), which writes Postgres. Requests per renewal are the sync-consumer's and the writer's own `stripe_requests_total` (2xx) during the storm; converged = every subscription shows the new term, the paid renewal and the next scheduled charge; lag = first renewal webhook appended to Kafka → the term change in Postgres; drift = `bridge reconcile` afterwards. Baseline in the same run: coalescing off (one full refetch per event), on fewer renewals (`--baseline-renewals=N`, default N/10). Budget = min(account limit / requests per renewal, endpoint limit / the busiest endpoint's requests per renewal); stages = first/last item seen by the emulator's queue, its deliveries, Kafka, the sync's inbox. Renewals/s, the headline, runs from the first webhook the emulator delivered to convergence (the sync cannot start before Stripe sends); the rate from the clock advance, which includes the emulator running the renewals, is reported next to it.",
    run: async () => (await stormBenchmark()).runRenewalStormBenchmark(),
    details: async (r) => (await stormBenchmark()).formatRenewalStormBenchmark(r as unknown as StormResult),
    headline: (r) => {
      const { coalesced, baseline } = r as unknown as StormResult;
      return `${fmt(coalesced.syncRequestsPerRenewalTotal, 2)} Stripe requests per renewal (target ≤ 2) vs ${fmt(baseline.syncRequestsPerRenewalTotal, 2)} refetching per event; ${coalesced.converged}/${coalesced.renewals} converged ${fmt(coalesced.secondsToConverge, 0)} s after the advance, ${fmt(coalesced.secondsToConverge - coalesced.secondsToFirstWebhook, 0)} s after the first webhook = ${fmt(coalesced.renewalsPerSecond, 2)}/s, ${fmt(coalesced.fractionOfBudget, 3)} of the ${fmt(coalesced.budgetAllowsRenewalsPerSecond, 2)}/s the limits allow at that cost (target ≥ 0.9; from the advance ${fmt(coalesced.fractionOfBudgetFromAdvance, 3)}); lag p50/p99 ${fmt(coalesced.lagP50Seconds, 1)}/${fmt(coalesced.lagP99Seconds, 1)} s; drift ${coalesced.drift}`;
    },
  },
  {
    name: "memory: RSS of stripe-writer, sync-consumer and ingest-gateway draining a backlog each",
    description:
      "Each service a real child process, its RSS (/proc/<pid>/status VmRSS) sampled every second while it drains N messages (default 3,000 on the shared machine; `--messages=100000` is issue 15's size), one service at a time, run as the image runs them (serviceNodeFlags: 128 MB of old space). Writer: orders pre-loaded by a bare producer, half `source: stripe` (skipped), half naming an offer missing from the catalog (customer looked up on the emulator, then failed). Sync-consumer: Stripe events, 40% Limio-initiated, 50% for subscriptions Limio does not have (a distinct one each), 10% for 10 imported subscriptions (synced from the emulator, then coalesced). Gateway: N POST /api/orders from 32 clients. Baseline in the same run: each service's idle RSS before its backlog. Warm-up: the first 10%; slope: least squares after it, MB per 10k messages (also over the lowest sample of each tenth, as V8's heap saw-tooths between collections); flat: slope < 1 MB per 10k; limit 256 MB.",
    run: async () => (await drainBenchmark()).runDrainRssBenchmark(),
    details: async (r) => (await drainBenchmark()).formatDrainRssBenchmark(r as unknown as DrainResult),
    headline: (r) =>
      (r as unknown as DrainResult).runs
        .map(
          (run) =>
            `${run.service}: max ${fmt(run.maxMb, 0)} MB (${fmt(run.ratioMaxToIdle, 2)}× idle), ${fmt(run.slopeMbPer10k, 2)} MB/10k, ${run.underLimit && run.flat ? "flat, under 256 MB" : "NOT flat or over 256 MB"}, ${fmt(run.messagesPerSecond, 0)}/s`,
        )
        .join("; "),
  },
  {
    name: "scale-out: a renewal storm drained by 1 and by 3 sync-consumer replicas, limits lifted",
    description:
      "The same storm (`--scale-renewals=N`, default 40 renewals on one test clock) drained from Kafka by one sync-consumer, then another by three replicas in one consumer group (`--scale-replicas=N`), the stripe-events topic at `--scale-partitions=N` (default 12), the emulator's rate limit and the bridge's budget lifted. The emulator delays each API answer by 0.5–1.5× `--scale-latency-ms` (default 200; real Stripe answers in ~100–500 ms) through its fault-injection delay, so that a replica waits on Stripe as it would in production, PARTITION_CONCURRENCY (4) partitions at a time; the handler-time column says how much of a replica's time was that wait and how much its own work (CPU, Postgres). The storm is advanced and all its webhooks appended to Kafka first; then the replicas start on a fresh consumer group whose offsets are the topics' ends before the storm. Time = the first replica holding its partitions → every subscription converged (the others' joining is part of it; the start to a stable group is reported apart); `--scale-backlog=0` instead starts the replicas first and advances the clock once the group is stable, so the storm's arrival paces the drain. The other figures cover the same span: the messages the storm appended and those handled, what became of them, the replicas' CPU seconds, and the handler time by phase (`sync_phase_duration_seconds`: Stripe, the log-position read and settle wait, waiting for another partition's sync of the subscription, the shared budget, transactions). `--scale-cpu-prof=DIR` writes a CPU profile per replica (decision 030).",
    run: async () => (await scaleOutBenchmark()).runScaleOutBenchmark(),
    details: async (r) => (await scaleOutBenchmark()).formatScaleOutBenchmark(r as unknown as ScaleOutResult),
    headline: (r) => {
      const { one, many, speedup } = r as unknown as ScaleOutResult;
      return `${many.replicas} replicas drain ${many.renewals} renewals ${fmt(speedup, 2)}× faster than one (target ≥ 2.5): ${fmt(many.seconds, 1)} s vs ${fmt(one.seconds, 1)} s (${fmt(many.renewalsPerSecond, 2)} vs ${fmt(one.renewalsPerSecond, 2)} renewals/s)`;
    },
  },
];

function fmt(value: unknown, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : String(value);
}

async function main() {
  // `npm run bench -- <part of a name> [--flags the benchmarks read]`
  const only = process.argv.slice(2).find((a) => !a.startsWith("--"));
  // A word of a benchmark's short name (before the colon) picks it alone ("gateway" is also in
  // the storm's description); else any part of the full name.
  const shortNameMatches = benchmarks.filter((b) => only && b.name.split(":")[0]!.includes(only));
  const selected =
    shortNameMatches.length > 0 ? shortNameMatches : benchmarks.filter((b) => !only || b.name.includes(only));
  const infra = await startInfraWithDatabase("bench");
  const results: {
    name: string;
    description: string;
    headline: string;
    details: string | undefined;
    result: Record<string, unknown>;
    seconds: number;
  }[] = [];
  try {
    process.env.KAFKA_BROKERS = infra.kafkaBrokers;
    process.env.DATABASE_URL = infra.databaseUrl;

    for (const benchmark of selected) {
      process.stderr.write(`[bench] ${benchmark.name}\n`);
      const started = Date.now();
      const result = await benchmark.run();
      results.push({
        name: benchmark.name,
        description: benchmark.description,
        headline: benchmark.headline(result),
        details: await benchmark.details?.(result),
        result,
        seconds: (Date.now() - started) / 1000,
      });
      process.stderr.write(`[bench]   ${benchmark.headline(result)}\n`);
    }
  } finally {
    await infra.stop();
  }

  const machine = {
    date: new Date().toISOString(),
    host: os.hostname(),
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown"}`,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    infrastructure: infra.description,
    loadAverage: os.loadavg().map((value) => Number(value.toFixed(2))),
  };
  const outDir = path.join(root, "bench", "results");
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, "report.json"), `${JSON.stringify({ machine, results }, null, 2)}\n`);
  const markdown = [
    "# Benchmark report",
    "",
    `Run ${machine.date} on ${machine.cpus}, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}.`,
    `Infrastructure: ${machine.infrastructure}. Load average at the end: ${machine.loadAverage.join(", ")}.`,
    "",
    "| benchmark | headline | seconds |",
    "|---|---|---|",
    ...results.map((r) => `| ${r.name} | ${r.headline} | ${r.seconds.toFixed(0)} |`),
    "",
    ...results.flatMap((r) => [
      `## ${r.name}`,
      "",
      r.description,
      "",
      ...(r.details ? ["```", r.details, "```", ""] : []),
      "```json",
      JSON.stringify(r.result, null, 2),
      "```",
      "",
    ]),
  ].join("\n");
  await writeFile(path.join(outDir, "report.md"), markdown);
  process.stdout.write(`${markdown}\nReport written to bench/results/report.md and report.json\n`);
}

await main();
