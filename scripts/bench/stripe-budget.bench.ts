// Shared Stripe budget benchmark (issue 15, decision 016), run by `npm run bench`: 3 writers and
// 2 sync-consumers, each its own process (their Stripe call loops: stripe-budget-caller.ts),
// against the emulator enforcing 25 requests/s for the account, with orders arriving. Measured
// twice in the same run: with today's per-process limiters (the baseline) and with the shared
// budget, each with orders alone and with background sync load.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator } from "@bridge/stripe-emulator";
import { startReportingChild } from "../../test/support/reporting-child.ts";
import type { CallerReport } from "./stripe-budget-caller.ts";

const LIMIT = 25;
const WRITERS = 3;
const SYNCS = 2;
const SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? 20);
/** Per writer: 3 × 0.9 orders/s × 4 calls ≈ 11 requests/s, under half the budget. */
const ORDERS_PER_SECOND = 0.9;
const SYNC_CONCURRENCY = 4;
const callerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "stripe-budget-caller.ts");

type Limiter = "per-process" | "shared";
export type BudgetRun = {
  limiter: Limiter;
  syncLoad: boolean;
  seconds: number;
  requestsPerSecond: number;
  fractionOfBudget: number;
  writerRequestsPerSecond: number;
  syncRequestsPerSecond: number;
  http429: number;
  http429Fraction: number;
  otherErrors: number;
  orders: number;
  ordersFailed: number;
  orderP50Ms: number;
  orderP99Ms: number;
  fallbacks: number;
};
export type StripeBudgetBenchmarkResult = {
  limitPerSecond: number;
  writers: number;
  syncConsumers: number;
  ordersPerSecondOffered: number;
  runs: BudgetRun[];
  shared: { fractionOfBudget: number; http429Fraction: number; ordersFailed: number };
  ratios: {
    http429FractionSharedToBaseline: number;
    ordersFailedSharedToBaseline: number;
    orderP99WithSyncSharedToBaseline: number;
    orderP99WithSyncToWithoutShared: number;
  };
};

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function startCaller(role: CallerReport["role"], env: Record<string, string>) {
  const caller = startReportingChild(callerFile, { ...env, ROLE: role });
  const report = caller.output.then((stdout) => {
    const line = stdout.split("\n").find((l) => l.startsWith("{"));
    if (!line) throw new Error(`the ${role} caller reported nothing`);
    return JSON.parse(line) as CallerReport;
  });
  return { ...caller, report };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runOnce(apiUrl: string, limiter: Limiter, syncLoad: boolean, run: number): Promise<BudgetRun> {
  // A key per run: its own emulator window and its own budget row (the budget id hashes the key).
  const env = {
    STRIPE_KEY: `sk_test_bench_budget_${run}_${Date.now()}`,
    STRIPE_API_URL: apiUrl,
    LIMITER: limiter,
    LIMIT: String(LIMIT),
    DURATION_MS: String(SECONDS * 1000),
    ORDERS_PER_SECOND: String(ORDERS_PER_SECOND),
    SYNC_CONCURRENCY: String(SYNC_CONCURRENCY),
  };
  const callers = [
    ...Array.from({ length: WRITERS }, () => startCaller("writer", env)),
    ...(syncLoad ? Array.from({ length: SYNCS }, () => startCaller("sync", env)) : []),
  ];
  try {
    await waitFor(() => callers.every((c) => c.ready()), "the callers to start");
    // The sync-consumers' setup requests used this second's window; start on a fresh one.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const c of callers) c.go();
    const reports = await Promise.all(callers.map((c) => c.report));
    const sum = (pick: (r: CallerReport) => number, of = reports) => of.reduce((n, r) => n + pick(r), 0);
    const writers = reports.filter((r) => r.role === "writer");
    const syncs = reports.filter((r) => r.role === "sync");
    const ok = sum((r) => r.ok);
    const http429 = sum((r) => r.rateLimited);
    const otherErrors = sum((r) => r.errors);
    const latencies = writers.flatMap((r) => r.orderLatenciesMs);
    return {
      limiter,
      syncLoad,
      seconds: SECONDS,
      requestsPerSecond: ok / SECONDS,
      fractionOfBudget: ok / SECONDS / LIMIT,
      writerRequestsPerSecond: sum((r) => r.ok, writers) / SECONDS,
      syncRequestsPerSecond: sum((r) => r.ok, syncs) / SECONDS,
      http429,
      http429Fraction: http429 / Math.max(1, ok + http429 + otherErrors),
      otherErrors,
      orders: sum((r) => r.ordersCompleted + r.ordersFailed, writers),
      ordersFailed: sum((r) => r.ordersFailed, writers),
      orderP50Ms: percentile(latencies, 50),
      orderP99Ms: percentile(latencies, 99),
      fallbacks: sum((r) => r.fallbackModes),
    };
  } finally {
    for (const c of callers) if (c.child.exitCode === null) c.child.kill("SIGKILL");
  }
}

export async function runStripeBudgetBenchmark(): Promise<StripeBudgetBenchmarkResult> {
  if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL (a migrated database) is not set");
  const emulator = await startEmulator({ rateLimitPerSecond: LIMIT });
  const runs: BudgetRun[] = [];
  try {
    let run = 0;
    for (const limiter of ["per-process", "shared"] as const) {
      for (const syncLoad of [false, true]) {
        process.stderr.write(
          `[bench]   ${limiter} limiters, ${syncLoad ? "orders + sync" : "orders only"}\n`,
        );
        runs.push(await runOnce(emulator.url, limiter, syncLoad, run++));
      }
    }
  } finally {
    await emulator.stop();
  }
  const find = (limiter: Limiter, syncLoad: boolean) =>
    runs.find((r) => r.limiter === limiter && r.syncLoad === syncLoad)!;
  const baseline = find("per-process", true);
  const shared = find("shared", true);
  const sharedAlone = find("shared", false);
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? 1 : Number.POSITIVE_INFINITY) : a / b);
  return {
    limitPerSecond: LIMIT,
    writers: WRITERS,
    syncConsumers: SYNCS,
    ordersPerSecondOffered: WRITERS * ORDERS_PER_SECOND,
    runs,
    shared: {
      fractionOfBudget: shared.fractionOfBudget,
      http429Fraction: Math.max(shared.http429Fraction, sharedAlone.http429Fraction),
      ordersFailed: shared.ordersFailed + sharedAlone.ordersFailed,
    },
    ratios: {
      http429FractionSharedToBaseline: ratio(shared.http429Fraction, baseline.http429Fraction),
      ordersFailedSharedToBaseline: ratio(shared.ordersFailed, baseline.ordersFailed),
      orderP99WithSyncSharedToBaseline: ratio(shared.orderP99Ms, baseline.orderP99Ms),
      orderP99WithSyncToWithoutShared: ratio(shared.orderP99Ms, sharedAlone.orderP99Ms),
    },
  };
}

export function formatStripeBudgetBenchmark(result: StripeBudgetBenchmarkResult): string {
  const rows = result.runs.map((r) =>
    [
      r.limiter.padEnd(11),
      (r.syncLoad ? "orders + sync" : "orders only").padEnd(13),
      r.requestsPerSecond.toFixed(1).padStart(6),
      r.fractionOfBudget.toFixed(3).padStart(6),
      r.writerRequestsPerSecond.toFixed(1).padStart(7),
      r.syncRequestsPerSecond.toFixed(1).padStart(6),
      `${(r.http429Fraction * 100).toFixed(2)}%`.padStart(7),
      `${r.ordersFailed}/${r.orders}`.padStart(7),
      r.orderP50Ms.toFixed(0).padStart(6),
      r.orderP99Ms.toFixed(0).padStart(6),
    ].join(" | "),
  );
  return [
    `limiter     | load          |  req/s | budget | orders | sync  |   429s | failed | p50 ms | p99 ms`,
    ...rows,
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runStripeBudgetBenchmark();
  process.stdout.write(`${formatStripeBudgetBenchmark(result)}\n${JSON.stringify(result, null, 2)}\n`);
}
