// RSS while draining a backlog (issue 15, acceptance 5), run by `npm run bench` (alone: `npm run
// bench -- drain`; `--messages=N` resizes every backlog, default 3,000: see DEFAULT_MESSAGES).
// The services run as real child processes (test/support/services.ts), with the Node flags the
// image gives them (serviceNodeFlags); their RSS is read from /proc/<pid>/status (VmRSS) once a
// second while each drains, one service at a time so they do not share the cores:
//   - stripe-writer: N `limio.order.submitted` messages pre-loaded by a bare producer. Half are
//     orders Stripe already has (`source: "stripe"`: recorded, outcome `skipped`, loop
//     prevention); half are new orders naming an offer missing from the catalog (recorded, the
//     plan step looks the customer up on the emulator by a distinct email through the SDK, the
//     shared budget and its Postgres grants, then fails `offer_not_found`). Each finishes with an
//     outcome published to Kafka. Cheap enough that the emulator's speed does not dominate.
//   - sync-consumer: N `stripe.event.received` messages: 40% Limio-initiated (loop prevention,
//     inbox row), 50% about Stripe subscriptions not in Limio (a distinct one each: resolution,
//     `unmatched` row), 10% about a few subscriptions imported into Limio (full sync from the
//     emulator, then coalesced: the burst coalescer's memory).
//   - ingest-gateway: N `POST /api/orders` (32 keep-alive clients, a distinct external_id each),
//     validated and published to Kafka with acks=all.
// Baseline in the same run: each service's idle RSS before its backlog. Warm-up: the first 10%
// of the messages. Slope: least squares of RSS over messages handled after warm-up, in MB per
// 10k messages. Flat: slope < 1 MB per 10k. The gateway's orders are left in its (default) orders
// topic, which no service of this benchmark reads.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import {
  BRIDGE_IDEMPOTENCY_PREFIX,
  type Envelope,
  generateLimioReference,
  messageTypes,
  orderSubmittedV1,
  type StripeEventLike,
  stripeEventKey,
  stripeEventReceivedData,
} from "@bridge/domain";
import {
  createKafkaClient,
  createOffsetReader,
  createProducer,
  ensureTopics,
  type KafkaClient,
  type OffsetReader,
  type OutgoingMessage,
  topics,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore } from "@bridge/store";
import { createStripeClient, type Stripe } from "@bridge/stripe-client";
import { importExternalSubscription } from "@bridge/sync-core";
import { type BridgeServices, metricSum, startBridgeServices } from "../../test/support/services.ts";
import { newOrderBody } from "../lib/shop.ts";

/**
 * Per service. Issue 15 names 100k; on the shared 2-core machine (load 20-35) the sync-consumer
 * handles 10-30 messages/s, so 100k would take over an hour: `--messages=100000` where it is quiet.
 */
const DEFAULT_MESSAGES = 3_000;
const LIMIT_MB = 256;
/** Flat: RSS grows by less than this per 10k messages after warm-up. */
const FLAT_MB_PER_10K = 1;
const WARMUP_FRACTION = 0.1;
const IDLE_SECONDS = 5;
const PARTITIONS = 6;
/** Subscriptions imported into Limio that 10% of the sync backlog is about. */
const KNOWN_SUBSCRIPTIONS = 10;
const GATEWAY_CLIENTS = 32;
const logger = createLogger("bench-drain", { level: "warn" });

type ServiceName = "writer" | "sync" | "gateway";
/** heapMb / externalMb: the service's own nodejs_heap_size_used_bytes and nodejs_external_memory_bytes. */
type Sample = { seconds: number; handled: number; rssMb: number; heapMb: number; externalMb: number };

export type DrainRun = {
  service: ServiceName;
  /** What the backlog was made of. */
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  /** Before the backlog: the baseline. */
  idleMb: number;
  /** RSS once the first 10% of the messages were handled. */
  afterWarmupMb: number;
  maxMb: number;
  lastMb: number;
  /** Least squares after warm-up, MB per 10k messages. */
  slopeMbPer10k: number;
  /**
   * The same fit over the lowest RSS of each tenth of the backlog after warm-up: V8 lets garbage
   * pile up between major collections, so the raw samples saw-tooth; the lows are what stays.
   */
  slopeOfLowsMbPer10k: number;
  ratioMaxToIdle: number;
  underLimit: boolean;
  flat: boolean;
  /** Every other service's RSS change (MB) over this drain, as a control: idle processes. */
  othersDeltaMb: Partial<Record<ServiceName | "emulator", number>>;
  loadAverage: { start: number; end: number };
  samples: Sample[];
  /** What the service did with the messages: gateway HTTP statuses, consumers' outcome counters. */
  outcomes: Record<string, number>;
};

export type DrainRssResult = { messages: number; limitMb: number; runs: DrainRun[] };

function argument(name: string, fallback: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  return flag ? Number(flag.split("=")[1]) : fallback;
}

/** Resident set of a process in MB (VmRSS), or NaN once it is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Least-squares slope of y over x. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const load1 = () => round(os.loadavg()[0] ?? Number.NaN, 2);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A fresh Limio id (`<kind>-<32 hex>`): random, so the writer's minted references differ too. */
const limioId = (kind: string) => `${kind}-${randomUUID().replaceAll("-", "")}`;

/** At most `n` of `samples`, evenly spaced, the last one kept: the report stays readable. */
function thin<T>(samples: T[], n: number): T[] {
  if (samples.length <= n) return samples;
  const step = samples.length / n;
  return [...Array.from({ length: n - 1 }, (_, i) => samples[Math.floor(i * step)]!), samples.at(-1)!];
}

/** The lowest RSS sample of each tenth of the backlog, as points (10k messages, MB). */
function lowsPerTenth(samples: Sample[], total: number): { x: number; y: number }[] {
  const byTenth = new Map<number, Sample>();
  for (const s of samples) {
    const tenth = Math.min(9, Math.floor((s.handled / total) * 10));
    const low = byTenth.get(tenth);
    if (!low || s.rssMb < low.rssMb) byTenth.set(tenth, s);
  }
  return [...byTenth.values()].map((s) => ({ x: s.handled / 10_000, y: s.rssMb }));
}

/** Samples `pid`'s RSS every second while `handled()` climbs to `total`; then summarises. */
async function sampleDrain(options: {
  service: ServiceName;
  services: BridgeServices;
  pid: number;
  others: Partial<Record<ServiceName | "emulator", number>>;
  total: number;
  handled: () => Promise<number>;
  /** Counters (Prometheus samples) whose names start with one of these: the outcomes. */
  outcomeMetrics: string[];
  /** Starts the load (the gateway's requests) or the backlog's pre-load. */
  start: () => Promise<Record<string, number>>;
  timeoutMs: number;
}): Promise<Omit<DrainRun, "messages">> {
  const { pid, total, services } = options;
  const idle: number[] = [];
  for (let i = 0; i < IDLE_SECONDS; i++) {
    idle.push(rssMb(pid));
    await sleep(1000);
  }
  const idleMb = idle.at(-1)!;
  const othersBefore = Object.fromEntries(Object.entries(options.others).map(([k, p]) => [k, rssMb(p)]));
  const loadStart = load1();
  const started = Date.now();
  const running = options.start();
  const samples: Sample[] = [];
  for (;;) {
    const handled = await options.handled();
    const rss = rssMb(pid);
    if (Number.isNaN(rss)) throw new Error(`bench: ${options.service} (pid ${pid}) exited while draining`);
    const metrics = await services.metrics(options.service).catch(() => "");
    const mb = (name: string) => round(metricSum(metrics, name) / 2 ** 20);
    samples.push({
      seconds: round((Date.now() - started) / 1000),
      handled,
      rssMb: round(rss),
      heapMb: mb("nodejs_heap_size_used_bytes"),
      externalMb: mb("nodejs_external_memory_bytes"),
    });
    if (samples.length % 15 === 0)
      process.stderr.write(`[drain] ${options.service} ${JSON.stringify(samples.at(-1))}\n`);
    if (handled >= total) break;
    if (Date.now() - started > options.timeoutMs)
      throw new Error(`bench: ${options.service} handled ${handled}/${total} in ${options.timeoutMs} ms`);
    await sleep(1000);
  }
  const statuses = await running;
  const seconds = (Date.now() - started) / 1000;
  const metrics = await services.metrics(options.service);
  const outcomes: Record<string, number> = { ...statuses };
  for (const line of metrics.split("\n")) {
    const [name, value] = [
      line.slice(0, line.lastIndexOf(" ")),
      Number(line.slice(line.lastIndexOf(" ") + 1)),
    ];
    if (options.outcomeMetrics.some((m) => line.startsWith(m)) && value > 0) outcomes[name] = value;
  }
  const warm = samples.filter((s) => s.handled >= total * WARMUP_FRACTION);
  const fit = slope(warm.map((s) => ({ x: s.handled / 10_000, y: s.rssMb })));
  const lows = lowsPerTenth(warm, total);
  const maxMb = Math.max(...samples.map((s) => s.rssMb));
  return {
    service: options.service,
    seconds: round(seconds),
    messagesPerSecond: round(total / seconds, 0),
    idleMb: round(idleMb),
    afterWarmupMb: warm[0]?.rssMb ?? Number.NaN,
    maxMb,
    lastMb: samples.at(-1)!.rssMb,
    slopeMbPer10k: round(fit, 2),
    slopeOfLowsMbPer10k: round(slope(lows), 2),
    ratioMaxToIdle: round(maxMb / idleMb, 2),
    underLimit: maxMb < LIMIT_MB,
    // Too few points after warm-up to fit a line: not shown flat.
    flat: Number.isFinite(fit) && fit < FLAT_MB_PER_10K,
    othersDeltaMb: Object.fromEntries(
      Object.entries(options.others).map(([k, p]) => [k, round(rssMb(p) - (othersBefore[k] ?? Number.NaN))]),
    ),
    loadAverage: { start: loadStart, end: load1() },
    outcomes,
    samples: thin(samples, 60),
  };
}

/** Messages of `topic` the group has committed (fresh topics: offsets start at 0). */
async function committed(reader: OffsetReader, groupId: string, topic: string): Promise<number> {
  const offsets = await reader.groupOffsets(groupId, topic);
  return offsets.reduce((sum, p) => sum + Math.max(0, p.committed - p.low), 0);
}

/** Sends `messages` to `topic` in batches, acks=all (the bare producer); says how many. */
async function preload(
  kafka: KafkaClient,
  topic: string,
  messages: OutgoingMessage[],
): Promise<{ preloaded: number }> {
  const producer = createProducer(kafka, { publishTimeoutMs: 30_000 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500)
      await producer.publishBatch(topic, messages.slice(i, i + 500));
  } finally {
    await producer.disconnect();
  }
  return { preloaded: messages.length };
}

/** Half orders Stripe already has (skipped), half naming an offer that is not in the catalog. */
function writerBacklog(run: string, count: number): OutgoingMessage[] {
  const messages = Array.from({ length: count }, (_, i) => {
    const orderId = limioId("order");
    const subscriptionId = limioId("sub");
    const email = `drain.${run}.${i}@example.com`;
    const fromStripe = i % 2 === 0;
    const now = new Date().toISOString();
    const order = {
      ...newOrderBody(email, "pm_card_visa", `drain-missing-offer-${i % 100}`),
      source: fromStripe ? "stripe" : "shop",
      external_id: `drain-${run}-${i}`,
    };
    const envelope: Envelope = {
      id: orderId,
      type: messageTypes.orderSubmitted,
      version: 1,
      occurredAt: now,
      source: order.source,
      correlationId: orderId,
      data: { orderId, subscriptionId, order, receivedAt: now, source: order.source },
    };
    return { key: subscriptionId, envelope };
  });
  // A backlog the writer would dead-letter measures the DLQ path: refuse it here instead.
  for (const m of messages.slice(0, 2)) orderSubmittedV1.parse(m.envelope.data);
  return messages;
}

/** The backlog's orders in the store, by status and error code: what the writer made of them. */
async function orderStatuses(databaseUrl: string, run: string): Promise<Record<string, number>> {
  const store = createStore(databaseUrl, { poolSize: 1 });
  try {
    const rows = await store.db.order.findMany({
      where: { externalId: { startsWith: `drain-${run}-` } },
      select: { status: true, outcome: true },
    });
    const out: Record<string, number> = {};
    for (const row of rows) {
      const code = (row.outcome as { error?: { code?: string } } | null)?.error?.code;
      const key = `orders ${row.status}${code ? ` (${code})` : ""}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  } finally {
    await store.close();
  }
}

/** Subscriptions in Stripe (the emulator) imported into Limio: 10% of the sync backlog is about them. */
async function knownSubscriptions(
  stripe: Stripe,
  databaseUrl: string,
  run: string,
): Promise<Record<string, unknown>[]> {
  const store = createStore(databaseUrl, { poolSize: 2 });
  try {
    const price = await stripe.prices.create({
      currency: "gbp",
      unit_amount: 999,
      recurring: { interval: "month" },
      product_data: { name: "Drain bench" },
    });
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < KNOWN_SUBSCRIPTIONS; i++) {
      const customer = await stripe.customers.create({
        email: `drain-known-${run}-${i}@example.com`,
        payment_method: "pm_card_visa",
        invoice_settings: { default_payment_method: "pm_card_visa" },
      });
      const sub = await stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: price.id }],
        metadata: { limio_subscription_id: `drain-known-${i}`, limio_source: "bench" },
      });
      await importExternalSubscription({ store, stripe, logger }, sub.id, { operator: "bench" });
      out.push(sub as unknown as Record<string, unknown>);
    }
    return out;
  } finally {
    await store.close();
  }
}

/** 40% Limio-initiated, 50% about subscriptions Limio does not have, 10% about known ones. */
function syncBacklog(run: string, count: number, known: Record<string, unknown>[]): OutgoingMessage[] {
  const created = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 10;
    const object =
      kind === 0
        ? known[i % known.length]!
        : {
            id: `sub_drain${run}${i}`,
            object: "subscription",
            customer: `cus_drain${run}${i}`,
            status: "active",
            metadata: {},
          };
    const event = {
      id: `evt_drain${run}${i}`,
      object: "event",
      type: "customer.subscription.updated",
      created,
      livemode: false,
      data: { object },
      request:
        kind >= 1 && kind <= 4
          ? { id: `req_drain${i}`, idempotency_key: `${BRIDGE_IDEMPOTENCY_PREFIX}drain-${i}` }
          : { id: null, idempotency_key: null },
    } as unknown as StripeEventLike;
    const envelope: Envelope = {
      id: event.id,
      type: messageTypes.stripeEventReceived,
      version: 1,
      occurredAt: new Date(created * 1000).toISOString(),
      source: "stripe",
      correlationId: event.id,
      data: stripeEventReceivedData(event),
    };
    return { key: stripeEventKey(event), envelope };
  });
}

/** `count` POST /api/orders from GATEWAY_CLIENTS keep-alive clients; `done` counts answers. */
async function sendOrders(services: BridgeServices, run: string, count: number, progress: { done: number }) {
  const target = new URL(`${services.gatewayUrl}/api/orders`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: GATEWAY_CLIENTS });
  const statuses: Record<string, number> = {};
  let next = 0;
  const one = (i: number) =>
    new Promise<number>((resolve) => {
      const body = JSON.stringify({
        ...newOrderBody(`drain.${run}.${i}@example.com`, "pm_card_visa"),
        // As Limio sends an order: with its own id and reference (the gateway checks both).
        id: `order-${randomUUID().replaceAll("-", "")}`,
        order_reference: generateLimioReference(),
        external_id: `DRAIN-${run}-${i}`,
      });
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            authorization: `Bearer ${services.apiKey}`,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", () => resolve(0));
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: GATEWAY_CLIENTS }, async () => {
      while (next < count) {
        const status = await one(next++);
        statuses[status] = (statuses[status] ?? 0) + 1;
        progress.done++;
      }
    }),
  );
  agent.destroy();
  return statuses;
}

export async function runDrainRssBenchmark(): Promise<DrainRssResult> {
  const messages = argument("messages", DEFAULT_MESSAGES);
  // `--drain-services=sync,writer` measures only those (development).
  const only = (
    process.argv.find((a) => a.startsWith("--drain-services="))?.split("=")[1] ?? "writer,sync,gateway"
  ).split(",");
  const brokers = process.env.KAFKA_BROKERS;
  const databaseUrl = process.env.DATABASE_URL;
  if (!brokers || !databaseUrl)
    throw new Error("bench: run through `npm run bench` (KAFKA_BROKERS, DATABASE_URL)");
  const run = Date.now().toString(16);
  const writerPrefix = `drain-${run}.`;
  const syncTopics = {
    TOPIC_STRIPE_EVENTS: `drain-${run}.${topics.stripeEvents}`,
    TOPIC_SYNC: `drain-${run}.${topics.sync}`,
    TOPIC_ORDER_OUTCOMES: `drain-${run}.sync.${topics.orderOutcomes}`,
    TOPIC_SUBSCRIPTION_CHANGES: `drain-${run}.${topics.subscriptionChanges}`,
  };
  const groups = { writer: `drain-writer-${run}`, sync: `drain-sync-${run}` };
  // The emulator's limit lifted and the processes' own budgets wide: the RSS is measured, not Stripe's pace.
  const unlimited = { STRIPE_RATE_LIMIT_PER_SECOND: "100000" };
  const services = await startBridgeServices({
    kafkaBrokers: brokers,
    databaseUrl,
    env: {
      emulator: { STRIPE_EMULATOR_RATE_LIMIT: "100000" },
      gateway: { RATE_LIMIT_ORDERS_PER_MINUTE: "10000000" },
      writer: {
        ...unlimited,
        KAFKA_TOPIC_PREFIX: writerPrefix,
        KAFKA_GROUP_ID: groups.writer,
        KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      },
      sync: {
        ...unlimited,
        ...syncTopics,
        KAFKA_GROUP_ID: groups.sync,
        KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
      },
    },
  });
  const kafka = createKafkaClient({ brokers: brokers.split(","), clientId: "bench-drain", logger });
  const reader = createOffsetReader(kafka);
  const pids = readPids(services);
  const othersOf = (service: ServiceName) =>
    Object.fromEntries(Object.entries(pids).filter(([name]) => name !== service)) as Record<string, number>;
  // 60 ms a message: the writer drains ~50/s on the idle 2-core machine, so 100k takes ~34 min.
  const timeoutMs = Math.max(600_000, messages * 60);
  const runs: DrainRun[] = [];
  try {
    await ensureTopics(kafka, [
      ...topicWithCompanions(`${writerPrefix}${topics.orders}`, { partitions: PARTITIONS }),
      ...topicWithCompanions(syncTopics.TOPIC_STRIPE_EVENTS, { partitions: PARTITIONS }),
    ]);

    // stripe-writer
    const ordersTopic = `${writerPrefix}${topics.orders}`;
    if (only.includes("writer")) {
      const writer = await sampleDrain({
        service: "writer",
        services,
        pid: pids.writer,
        others: othersOf("writer"),
        total: messages,
        start: () => preload(kafka, ordersTopic, writerBacklog(run, messages)),
        outcomeMetrics: ["stripe_writer_orders_total"],
        handled: () => committed(reader, groups.writer, ordersTopic),
        timeoutMs,
      });
      Object.assign(writer.outcomes, await orderStatuses(databaseUrl, run));
      runs.push({ messages, ...writer });
    }

    // sync-consumer
    if (only.includes("sync")) {
      const stripe = createStripeClient({
        secretKey: services.stripeSecretKey,
        apiUrl: services.stripeApiUrl,
        ratePerSecond: 10_000,
      }).stripe;
      const known = await knownSubscriptions(stripe, databaseUrl, run);
      runs.push({
        messages,
        ...(await sampleDrain({
          service: "sync",
          services,
          pid: pids.sync,
          others: othersOf("sync"),
          total: messages,
          start: () => preload(kafka, syncTopics.TOPIC_STRIPE_EVENTS, syncBacklog(run, messages, known)),
          outcomeMetrics: [
            "sync_skipped_loop_total",
            "sync_unmatched_total",
            "sync_ignored_total",
            "sync_applied_total",
            "sync_skipped_coalesced_total",
          ],
          handled: () => committed(reader, groups.sync, syncTopics.TOPIC_STRIPE_EVENTS),
          timeoutMs,
        })),
      });
    }

    // ingest-gateway
    if (only.includes("gateway")) {
      const progress = { done: 0 };
      runs.push({
        messages,
        ...(await sampleDrain({
          service: "gateway",
          services,
          pid: pids.gateway,
          others: othersOf("gateway"),
          total: messages,
          start: () => sendOrders(services, run, messages, progress),
          outcomeMetrics: [],
          handled: async () => progress.done,
          timeoutMs,
        })),
      });
    }
  } finally {
    await reader.close();
    await services.stop();
  }
  return { messages, limitMb: LIMIT_MB, runs };
}

/** The node process of each service (services.pids() lists each service then its watchdog). */
function readPids(services: BridgeServices): Record<ServiceName | "emulator", number> {
  const [emulator, , gateway, , writer, , sync] = services.pids();
  return { emulator: emulator!, gateway: gateway!, writer: writer!, sync: sync! };
}

export function formatDrainRssBenchmark(result: DrainRssResult): string {
  const header = `${"service".padEnd(8)} ${"msgs/s".padStart(7)} ${"idle".padStart(6)} ${"warm".padStart(6)} ${"max".padStart(6)} ${"last".padStart(6)} ${"MB/10k".padStart(7)} ${"lows".padStart(6)} ${"<256".padStart(5)} ${"flat".padStart(5)} ${"load".padStart(10)}`;
  const rows = result.runs.map(
    (r) =>
      `${r.service.padEnd(8)} ${String(r.messagesPerSecond).padStart(7)} ${r.idleMb.toFixed(0).padStart(6)} ${r.afterWarmupMb.toFixed(0).padStart(6)} ${r.maxMb.toFixed(0).padStart(6)} ${r.lastMb.toFixed(0).padStart(6)} ${r.slopeMbPer10k.toFixed(2).padStart(7)} ${r.slopeOfLowsMbPer10k.toFixed(2).padStart(6)} ${String(r.underLimit).padStart(5)} ${String(r.flat).padStart(5)} ${`${r.loadAverage.start}→${r.loadAverage.end}`.padStart(10)}`,
  );
  const outcomes = result.runs.map((r) => `${r.service} outcomes: ${JSON.stringify(r.outcomes)}`);
  return [`${result.messages} messages per service; RSS in MB`, header, ...rows, ...outcomes].join("\n");
}
