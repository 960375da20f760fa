// CPU per order of the gateway's pure steps: `parseLimioOrder` (packages/domain) and
// `encodeMessage` of the `limio.order.submitted` envelope (packages/messaging), on the order the
// gateway benchmark sends (test/fixtures/limio/new.json, a new external_id per order).
//
// Baseline in the same run: the same code at another git commit (`--parse-base=<ref>`, default
// the commit before the field-rule trie of issue 15), extracted under .cache/ so it resolves the same
// node_modules; the two are measured alternately in chunks of 250 orders, `--parse-rounds=N` times (default 3),
// so that load on a shared machine hits both alike. No Kafka, no Postgres.
//
//   npm run bench -- parse-encode
//   node scripts/bench/parse-encode.bench.ts --parse-base=HEAD~3 --parse-orders=5000
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Code = {
  parseLimioOrder: (input: unknown) => { ok: boolean; order?: unknown };
  encodeMessage: (message: { key: string; envelope: unknown }) => { value: string };
};
export type ParseEncodeResult = {
  machine: string;
  loadAverage: { start: number[]; end: number[] };
  orders: number;
  base: string;
  rounds: { parseUs: { base: number; head: number }; encodeUs: { base: number; head: number } }[];
  median: { parseUs: { base: number; head: number }; encodeUs: { base: number; head: number } };
  ratios: { parseHeadToBase: number; encodeHeadToBase: number };
};

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const git = (...args: string[]) =>
  execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** The code before the field-rule trie (issue 15): the baseline unless `--parse-base` names another. */
const BEFORE_THE_TRIE = "6dee0c2bafcf44c5b0db2d4b2b0da6123b0f6936";

/** The domain and messaging sources at `ref`, under .cache/ (so `zod`, `kafkajs` resolve as here). */
async function codeAt(ref: string): Promise<Code> {
  const sha = git("rev-parse", ref);
  const dir = path.join(root, ".cache", "parse-encode-base", sha);
  if (!existsSync(path.join(dir, "packages"))) {
    mkdirSync(dir, { recursive: true });
    const tar = execFileSync("git", ["archive", sha, "packages/domain/src", "packages/messaging/src"], {
      cwd: root,
    });
    execFileSync("tar", ["-x", "-C", dir], { input: tar });
    // The extracted messaging must use the extracted domain, not the workspace's.
    for (const file of ["codec.ts", "producer.ts"]) {
      const p = path.join(dir, "packages/messaging/src", file);
      writeFileSync(p, readFileSync(p, "utf8").replaceAll('"@bridge/domain"', '"../../domain/src/index.ts"'));
    }
  }
  return load(path.join(dir, "packages"));
}

async function load(packages: string): Promise<Code> {
  const domain = await import(pathToFileURL(path.join(packages, "domain/src/index.ts")).href);
  const producer = await import(pathToFileURL(path.join(packages, "messaging/src/producer.ts")).href);
  return { parseLimioOrder: domain.parseLimioOrder, encodeMessage: producer.encodeMessage };
}

/** Fresh copies of the orders, as the gateway's JSON.parse of each body gives them. */
const copies = (bodies: readonly unknown[]) => bodies.map((b) => structuredClone(b));

/** The `limio.order.submitted` message the gateway publishes for a parsed order. */
function envelopeOf(order: unknown, i: number) {
  const now = new Date().toISOString();
  const id = `order-${i.toString(16).padStart(32, "0")}`;
  const subscriptionId = `sub-${i.toString(16).padStart(32, "0")}`;
  return {
    key: subscriptionId,
    envelope: {
      id,
      type: "limio.order.submitted",
      version: 1,
      occurredAt: now,
      source: "shop",
      correlationId: `req-${i}`,
      data: { orderId: id, subscriptionId, order, receivedAt: now, source: "shop" },
    },
  };
}

function messagesOf(code: Code, inputs: readonly unknown[]) {
  return inputs.map((b, i) => {
    const r = code.parseLimioOrder(b);
    if (!r.ok) throw new Error(`the bench order does not parse: ${JSON.stringify(r)}`);
    return envelopeOf(r.order, i);
  });
}

const CHUNK = 250;

/**
 * µs per call of each code's `fn` over its inputs, the two alternating in chunks of CHUNK calls
 * so that a change of load on a shared machine hits both alike.
 */
function alternately<T>(
  inputs: { base: readonly T[]; head: readonly T[] },
  fn: { base: (input: T) => unknown; head: (input: T) => unknown },
) {
  const used = { base: 0, head: 0 };
  for (let from = 0; from < inputs.base.length; from += CHUNK) {
    for (const side of ["base", "head"] as const) {
      const chunk = inputs[side].slice(from, from + CHUNK);
      const start = process.cpuUsage();
      for (const input of chunk) fn[side](input);
      const cpu = process.cpuUsage(start);
      used[side] += cpu.user + cpu.system;
    }
  }
  const perCall = (us: number) => Math.round((us / inputs.base.length) * 100) / 100;
  return { base: perCall(used.base), head: perCall(used.head) };
}

function measure(code: { base: Code; head: Code }, bodies: readonly unknown[]) {
  const orders = { base: copies(bodies), head: copies(bodies) };
  const parseUs = alternately(orders, {
    base: (b) => code.base.parseLimioOrder(b),
    head: (b) => code.head.parseLimioOrder(b),
  });
  const messages = { base: messagesOf(code.base, orders.base), head: messagesOf(code.head, orders.head) };
  const encodeUs = alternately(messages, {
    base: (m) => code.base.encodeMessage(m),
    head: (m) => code.head.encodeMessage(m),
  });
  return { parseUs, encodeUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runParseEncodeBenchmark(): Promise<ParseEncodeResult> {
  const orders = Number(arg("parse-orders", "5000"));
  const roundsWanted = Number(arg("parse-rounds", "3"));
  const base = arg("parse-base", BEFORE_THE_TRIE);
  const {
    id: _id,
    order_reference: _reference,
    ...fixture
  } = JSON.parse(readFileSync(path.join(root, "test/fixtures/limio/new.json"), "utf8"));
  const bodies = Array.from({ length: orders }, (_, i) => ({
    ...fixture,
    external_id: `BENCH-${i}`,
    checkoutId: `basket-${i}`,
  }));
  const loadStart = os.loadavg();
  const baseCode = await codeAt(base);
  const headCode = await load(path.join(root, "packages"));
  const rounds: ParseEncodeResult["rounds"] = [];
  const code = { base: baseCode, head: headCode };
  measure(code, bodies.slice(0, 1000)); // warm-up: both optimised before the first round
  for (let r = 0; r < roundsWanted; r++) rounds.push(measure(code, bodies));
  const med = (pick: (r: ParseEncodeResult["rounds"][number]) => number) => median(rounds.map(pick));
  const medianResult = {
    parseUs: { base: med((r) => r.parseUs.base), head: med((r) => r.parseUs.head) },
    encodeUs: { base: med((r) => r.encodeUs.base), head: med((r) => r.encodeUs.head) },
  };
  return {
    machine: `${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}`,
    loadAverage: { start: loadStart, end: os.loadavg() },
    orders,
    base: git("rev-parse", "--short", base),
    rounds,
    median: medianResult,
    ratios: {
      parseHeadToBase: Math.round((medianResult.parseUs.head / medianResult.parseUs.base) * 100) / 100,
      encodeHeadToBase: Math.round((medianResult.encodeUs.head / medianResult.encodeUs.base) * 100) / 100,
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runParseEncodeBenchmark(), null, 2));
}
