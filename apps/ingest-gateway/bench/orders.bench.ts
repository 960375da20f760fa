// Throughput and latency of the gateway's two write routes, `POST /api/orders` and a signed
// `POST /webhooks/stripe`, against what Kafka itself allows with the same durability: a bare
// kafkajs idempotent producer (acks=all, one request in flight) sending the same messages (same
// bytes, same keys, topics created the same way) in batches of the clients' concurrency, the
// largest batch the gateway's group commit can form, and again in batches of the gateway's own
// measured mean batch. Same process, same broker, same run.
//
// Per route: closed loop at a fixed concurrency (the maximum rate), then open loop at half that
// rate (fixed arrival rate, latency counted from each request's scheduled time) for p50/p99.
// A bare Fastify hello-world is measured too, as the HTTP stack's own ceiling on this machine,
// and a relay: a bare Fastify route that parses the same JSON body and publishes the same message
// through the gateway's own group commit, nothing else (no auth, validation, store, logs). The
// relay is the floor of any gateway built of Fastify and kafkajs on this machine: what the
// gateway's own work costs is its distance to the relay, what HTTP costs is the relay's to Kafka.
// All of it runs in a process with the services' V8 flags (serviceNodeFlags, the image's
// NODE_OPTIONS): the gateway is measured as it runs. The report says what the load generator's
// thread cost per request and how much of the machine's CPU stayed idle.
//
//   npm run bench -- gateway                                   # from the runner
//   node apps/ingest-gateway/bench/orders.bench.ts             # alone: starts Kafka + Postgres
//   BENCH_DURATION_MS=8000 BENCH_WARMUP_MS=2000            # knobs (defaults shown)
//   BENCH_CONCURRENCY=32 BENCH_LOG_LEVEL=info
//   BENCH_PROFILE_DIR=/tmp/prof   # a .cpuprofile of the gateway's thread per route's closed loop
//   BENCH_PROFILE=heap            # with BENCH_PROFILE_DIR: a .heapprofile instead (every sampled
//                                 # allocation, collected or not: bytes allocated per request)
//   BENCH_NODE_FLAGS="--max-old-space-size=128 --max-semi-space-size=16"  # other V8 flags
import { randomUUID } from "node:crypto";
import http from "node:http";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { EncodedMessage, OutgoingMessage } from "@bridge/messaging";

type LoadSpec = {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  /**
   * A body template, filled per request (a new order, a new Stripe event): `{{id}}` with a unique
   * token, `{{orderId}}` with 32 hex digits, `{{reference}}` with a 12-character Limio reference.
   */
  body?: string;
  /** Sign each body as Stripe does (`Stripe-Signature`) with this endpoint secret. */
  webhookSecret?: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** Open loop: requests per second sent on schedule whatever the answers; else closed loop. */
  ratePerSecond?: number;
};
type LoadResult = {
  /** The load generator's own thread CPU per request (its share of the 2 cores). */
  clientCpuUsPerRequest: number;
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  p50Ms: number;
  p99Ms: number;
};

/** Fills a body template's placeholders (LoadSpec.body) with new values. */
function fillTemplate(template: string, token: string): string {
  return template
    .replaceAll("{{id}}", token)
    .replaceAll("{{orderId}}", () => randomUUID().replaceAll("-", ""))
    .replaceAll("{{reference}}", () => randomUUID().replaceAll("-", "").slice(0, 12).toUpperCase());
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

/**
 * Load from a worker thread (not the server's event loop). Closed loop: `concurrency` keep-alive
 * connections, each sending its next request on the last answer. Open loop: one request every
 * 1/rate s whatever the answers, latency from the scheduled send time (no coordinated omission).
 */
async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const { default: Stripe } = await import("stripe");
  const openLoop = spec.ratePerSecond !== undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: openLoop ? 1024 : spec.concurrency });
  const target = new URL(spec.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let counter = 0;
  const one = () =>
    new Promise<number | string>((resolve) => {
      const body =
        spec.body && fillTemplate(spec.body, `${process.pid}x${counter++}x${randomUUID().slice(0, 8)}`);
      const signature =
        body && spec.webhookSecret
          ? {
              "stripe-signature": Stripe.webhooks.generateTestHeaderString({
                payload: body,
                secret: spec.webhookSecret,
              }),
            }
          : {};
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: spec.method,
          agent,
          headers: {
            ...spec.headers,
            ...signature,
            ...(body ? { "content-length": Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "request_error"));
      req.on("socket", (socket) => socket.setNoDelay(true));
      req.end(body);
    });
  /** An HTTP status, or the client's error code when no response came (e.g. ECONNRESET). */
  const record = (status: number | string, latencyMs: number) => {
    latencies.push(latencyMs);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (typeof status === "string" || status < 200 || status >= 300) errors++;
  };
  const closedLoop = (until: number, recording: boolean) =>
    Promise.all(
      Array.from({ length: spec.concurrency }, async () => {
        while (Date.now() < until) {
          const started = performance.now();
          const status = await one();
          if (recording) record(status, performance.now() - started);
        }
      }),
    );
  const fixedRate = async (durationMs: number, recording: boolean) => {
    const interval = 1000 / spec.ratePerSecond!;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    let next = start;
    while (next < start + durationMs) {
      while (next <= performance.now() && next < start + durationMs) {
        const scheduled = next;
        pending.push(
          one().then((status) => {
            if (recording) record(status, performance.now() - scheduled);
          }),
        );
        next += interval;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(pending);
  };
  const run = openLoop
    ? fixedRate
    : (ms: number, recording: boolean) => closedLoop(Date.now() + ms, recording);
  await run(spec.warmupMs, false);
  const started = performance.now();
  const cpuAtStart = process.threadCpuUsage();
  await run(spec.durationMs, true);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.threadCpuUsage(cpuAtStart);
  agent.destroy();
  return {
    clientCpuUsPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, latencies.length)),
    requests: latencies.length,
    errors,
    statuses,
    rps: Math.round(latencies.length / elapsed),
    ...percentiles(latencies),
  };
}

/** The machine's CPU time so far, summed over its cores: busy and idle, in ms. */
function machineCpu() {
  let busy = 0;
  let idle = 0;
  for (const { times } of os.cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    idle += times.idle;
  }
  return { busy, idle };
}

type LoadFigures = LoadResult & { serverCpuUsPerRequest: number; machineIdleShare: number };

/**
 * Runs a load in a worker thread; also returns the CPU the server's (this) thread used meanwhile
 * and the share of the machine's CPU left idle (all cores): idle CPU while the gateway's thread
 * is saturated is what a second gateway process could use.
 */
function loadInWorker(spec: LoadSpec): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: spec });
    let cpuAtStart: NodeJS.CpuUsage | undefined;
    let machineAtStart = machineCpu();
    // The warm-up is not counted: start the CPU clocks when it ends.
    const timer = setTimeout(() => {
      cpuAtStart = process.threadCpuUsage();
      machineAtStart = machineCpu();
    }, spec.warmupMs);
    worker.once("message", (result: LoadResult) => {
      clearTimeout(timer);
      const cpu = process.threadCpuUsage(cpuAtStart);
      const machine = machineCpu();
      const idle = machine.idle - machineAtStart.idle;
      resolve({
        ...result,
        serverCpuUsPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, result.requests)),
        machineIdleShare: round(idle / Math.max(1, idle + machine.busy - machineAtStart.busy), 3),
      });
    });
    worker.once("error", reject);
  });
}

export type RouteFigures = {
  /** Closed loop at `concurrency`: the route's maximum rate. */
  maxRps: number;
  maxP50Ms: number;
  maxP99Ms: number;
  /** The gateway thread's CPU per request at the maximum (load-independent, unlike rates). */
  serverCpuUsPerRequest: number;
  /** The load generator's thread CPU per request (it shares the machine with the gateway). */
  clientCpuUsPerRequest: number;
  /** Share of the machine's CPU (all cores) idle during the maximum: what more processes could use. */
  machineIdleShare: number;
  /** Mean messages per produce request during the closed loop. */
  meanBatch: number;
  /** Open loop at half the maximum. */
  halfRateTarget: number;
  halfRateRps: number;
  halfRateP50Ms: number;
  halfRateP99Ms: number;
  /** The gateway thread's garbage collection in each phase (decision 028: the tail's largest stalls). */
  maxGc: GcFigures;
  halfRateGc: GcFigures;
  errors: number;
  statuses: Record<string, number>;
};

export type GcFigures = {
  /** Mark-compacts (each ends a marking cycle that ran alongside the requests). */
  majorGcs: number;
  minorGcs: number;
  /** Main-thread pauses, all kinds: in all, and how many lasted over 10 ms. */
  pauseMs: number;
  pausesOver10Ms: number;
};

export type OpenLoopFigures = { rps: number; p50Ms: number; p99Ms: number };

export type ProducerFigures = {
  msgsPerSecond: number;
  batchAckP50Ms: number;
  batchAckP99Ms: number;
  messageBytes: number;
};

export type GatewayBenchmarkResult = {
  orders: RouteFigures;
  webhooks: RouteFigures;
  /** The bare producer with each route's messages, in batches of the concurrency (the yardstick). */
  producerOrders: ProducerFigures;
  producerWebhooks: ProducerFigures;
  /** The same in batches of the route's measured mean batch: what Kafka allows at the gateway's batching. */
  producerOrdersAtGatewayBatch: ProducerFigures & { batch: number };
  producerWebhooksAtGatewayBatch: ProducerFigures & { batch: number };
  /**
   * The relay (a bare Fastify route publishing the same message through the same group commit):
   * the floor of a Fastify + kafkajs gateway on this machine.
   */
  relayOrders: RouteFigures;
  relayWebhooks: RouteFigures;
  ordersToProducer: number;
  webhooksToProducer: number;
  /** What HTTP itself leaves of Kafka's rate on this machine. */
  relayOrdersToProducer: number;
  relayWebhooksToProducer: number;
  /** What the gateway's own work (auth, validation, store, logs, metrics) leaves of the floor. */
  ordersToRelay: number;
  webhooksToRelay: number;
  helloRps: number;
  /** The hello-world in an open loop at the orders' half rate: the HTTP stack's and machine's own tail. */
  helloAtOrdersHalfRate: OpenLoopFigures;
  /**
   * The relay in an open loop at the gateway route's half rate: the same arrivals, but the relay
   * busier for less of each request (its own half rate is the same load on its own scale).
   */
  relayOrdersAtGatewayHalfRate: OpenLoopFigures;
  relayWebhooksAtGatewayHalfRate: OpenLoopFigures;
  concurrency: number;
  durationMs: number;
  logLevel: string;
  loadAverage: { start: number[]; end: number[] };
  cpus: number;
  /** The V8 flags of the process the gateway ran in: the services' own (serviceNodeFlags). */
  nodeFlags: string[];
};

type BenchOptions = { durationMs?: number; concurrency?: number; warmupMs?: number };

/**
 * The gateway is measured with the V8 flags it runs with (the image's NODE_OPTIONS, decision 029:
 * a 4 MB semi-space costs it more garbage collection than Node's defaults), so a runner started
 * without them runs the benchmark again in a child process that has them.
 */
export async function runGatewayBenchmark(options: BenchOptions = {}): Promise<GatewayBenchmarkResult> {
  const { serviceNodeFlags } = await import("@bridge/local-infra");
  // BENCH_NODE_FLAGS="--max-semi-space-size=16 …" measures other flags (what the image would run with).
  const flags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [...serviceNodeFlags];
  if (flags.every((flag) => process.execArgv.includes(flag))) return measureGateway(options);
  const { execFile } = await import("node:child_process");
  const { mkdtemp, readFile } = await import("node:fs/promises");
  const resultFile = `${await mkdtemp(`${os.tmpdir()}/gateway-bench-`)}/result.json`;
  const env = {
    ...process.env,
    BENCH_RESULT_FILE: resultFile,
    ...(options.durationMs ? { BENCH_DURATION_MS: String(options.durationMs) } : {}),
    ...(options.concurrency ? { BENCH_CONCURRENCY: String(options.concurrency) } : {}),
    ...(options.warmupMs ? { BENCH_WARMUP_MS: String(options.warmupMs) } : {}),
  };
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [...flags, fileURLToPath(import.meta.url)],
      { env, maxBuffer: 64 * 1024 * 1024 },
      (error) => (error ? reject(error) : resolve()),
    );
    child.stderr?.pipe(process.stderr);
  });
  return JSON.parse(await readFile(resultFile, "utf8")) as GatewayBenchmarkResult;
}

async function measureGateway(options: BenchOptions): Promise<GatewayBenchmarkResult> {
  const durationMs = options.durationMs ?? Number(process.env.BENCH_DURATION_MS ?? 8_000);
  const concurrency = options.concurrency ?? Number(process.env.BENCH_CONCURRENCY ?? 32);
  const warmupMs = options.warmupMs ?? Number(process.env.BENCH_WARMUP_MS ?? 2_000);
  // The gateway's default level: its per-message log lines are part of what it costs.
  const logLevel = process.env.BENCH_LOG_LEVEL ?? "info";
  const loadAtStart = os.loadavg();

  const { readFile } = await import("node:fs/promises");
  const { createWriteStream } = await import("node:fs");
  const { createKafkaClient, createProducer, encodeMessage, ensureTopics, topicWithCompanions } =
    await import("@bridge/messaging");
  const { demoCatalogUrl, stripeEventReceivedData } = await import("@bridge/domain");
  const { createLogger, createMetrics } = await import("@bridge/observability");
  const { createStore, loadCatalog } = await import("@bridge/store");
  const { default: Fastify } = await import("fastify");
  const { createBatchingPublisher } = await import("../src/batching-publisher.ts");
  const { buildGateway } = await import("../src/app.ts");
  const { loadConfig } = await import("../src/config.ts");
  const { orderEnvelope, parseSubmission, publishedOrder, resolveTarget } = await import(
    "../src/routes/orders/submission.ts"
  );
  const { createSubmissionReads } = await import("../src/routes/orders/submission-reads.ts");
  const { stripeEventMessage } = await import("../src/routes/webhooks/stripe-webhook.ts");

  // Run alone: Kafka and a migrated database of its own; from `npm run bench`: the runner's.
  let brokers = process.env.KAFKA_BROKERS;
  let databaseUrl = process.env.DATABASE_URL;
  let stopInfra = async () => {};
  if (!brokers || !databaseUrl) {
    const infra = await (await import("@bridge/local-infra")).startInfraWithDatabase("bench_gateway");
    ({ kafkaBrokers: brokers, databaseUrl } = infra);
    stopInfra = infra.stop;
  }

  // Logs go where production sends them (a stream), here one that discards them.
  const logger = createLogger("ingest-gateway", {
    level: logLevel,
    destination: createWriteStream("/dev/null"),
  });
  const apiKey = `bench-key-${randomUUID()}`;
  const webhookSecret = `whsec_bench_${randomUUID().replaceAll("-", "")}`;
  const config = loadConfig({
    KAFKA_BROKERS: brokers,
    DATABASE_URL: databaseUrl,
    API_KEYS: `bench:${apiKey}:orders`,
    STRIPE_WEBHOOK_SECRETS: webhookSecret,
    LOG_LEVEL: logLevel,
    // One key sends everything here: measure the gateway, not its per-key limits.
    RATE_LIMIT_ORDERS_PER_MINUTE: "10000000",
    MAX_CONCURRENT_REQUESTS_PER_KEY: "1000000",
  });
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: "ingest-gateway-bench",
    logger,
  });
  const suffix = Date.now();
  const topics = {
    orders: `bench.orders.${suffix}`,
    stripeEvents: `bench.stripe-events.${suffix}`,
    bareOrders: `bench.bare-orders.${suffix}`,
    bareStripeEvents: `bench.bare-stripe-events.${suffix}`,
    relayOrders: `bench.relay-orders.${suffix}`,
    relayStripeEvents: `bench.relay-stripe-events.${suffix}`,
  };
  // Every topic as the gateway creates its own (partitions, companions).
  const specs = Object.values(topics).flatMap((topic) =>
    topicWithCompanions(topic, { partitions: config.KAFKA_TOPIC_PARTITIONS, replicationFactor: 1 }),
  );
  await ensureTopics(kafka, specs);
  const producer = createProducer(kafka, { publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS });
  await producer.connect();
  const store = createStore(config.DATABASE_URL);
  // Default metrics on, as the service runs: their GC histogram is what `gcDuring` reads.
  const metrics = createMetrics("ingest-gateway-bench");
  const gateway = await buildGateway({
    config,
    logger,
    producer,
    store,
    topics: { orders: topics.orders, stripeEvents: topics.stripeEvents },
    metrics,
  });
  const hello = Fastify({ logger: false });
  hello.get("/hello", async () => ({ hello: "world" }));

  // A Limio order as Limio sends it (test/fixtures/limio/new.json), a new one per request: with
  // its own `id` and `order_reference`, which the gateway checks against the store (decision 021).
  const fixtures = new URL("../../../test/fixtures/", import.meta.url);
  const limioOrder = JSON.parse(await readFile(new URL("limio/new.json", fixtures), "utf8")) as Record<
    string,
    unknown
  >;
  // It names an offer version of the demo catalog, which the gateway checks the store for.
  await loadCatalog(store.db, JSON.parse(await readFile(demoCatalogUrl, "utf8")));
  const orderTemplate = JSON.stringify({
    ...limioOrder,
    id: "order-{{orderId}}",
    order_reference: "{{reference}}",
    external_id: "BENCH-{{id}}",
    checkoutId: "basket-{{id}}",
  });
  // A Stripe event as Stripe sends it: Stripe's published sample subscription, pretty-printed.
  const stripeSamples = JSON.parse(await readFile(new URL("stripe/fixtures3-subset.json", fixtures), "utf8"));
  const eventTemplate = JSON.stringify(
    {
      id: "evt_{{id}}",
      object: "event",
      api_version: "2026-10-28.endive",
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: "customer.subscription.updated",
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: { ...stripeSamples.resources.subscription, id: "sub_{{id}}" } },
    },
    null,
    2,
  );

  // The bare producer's and the relay's messages: what the gateway publishes for these requests,
  // built by its own code. Few of them, cycled: they live in the gateway's heap (same isolate), and
  // 2,048 of each kind added 34 MB to the 27 MB the gateway's old generation holds, more for each
  // of its major GCs to mark than it has in production; 256 add 5 MB.
  const pool = 256;
  const fill = (template: string, i: number) =>
    fillTemplate(template, `pool${i}x${randomUUID().slice(0, 8)}`);
  const orderMessages: EncodedMessage[] = [];
  const eventMessages: EncodedMessage[] = [];
  const orderOutgoing: OutgoingMessage<unknown>[] = [];
  const eventOutgoing: OutgoingMessage<unknown>[] = [];
  const reads = createSubmissionReads(store);
  for (let i = 0; i < pool; i++) {
    const submission = parseSubmission(JSON.parse(fill(orderTemplate, i)), "bench", undefined);
    const target = await resolveTarget(reads, submission);
    const envelope = orderEnvelope(submission, target, publishedOrder(submission, target), randomUUID());
    orderOutgoing.push({ key: target.subscriptionId, envelope });
    orderMessages.push(encodeMessage(orderOutgoing[i]!));
    const event = JSON.parse(fill(eventTemplate, i));
    eventOutgoing.push(stripeEventMessage(event, stripeEventReceivedData(event), randomUUID()));
    eventMessages.push(encodeMessage(eventOutgoing[i]!));
  }

  // The relay: the same body parsed by Fastify's JSON parser, the same message published through
  // the gateway's group commit on the same kind of producer, 202. The floor of a Fastify + kafkajs gateway.
  const relayBatches = new Map<string, { sum: number; count: number }>();
  const relayPublisher = createBatchingPublisher(producer, {
    onBatch: (topic, messages) => {
      const seen = relayBatches.get(topic) ?? { sum: 0, count: 0 };
      relayBatches.set(topic, { sum: seen.sum + messages, count: seen.count + 1 });
    },
  });
  const relay = Fastify({ logger: false });
  for (const [path, topic, messages] of [
    ["/relay/orders", topics.relayOrders, orderOutgoing],
    ["/relay/webhooks", topics.relayStripeEvents, eventOutgoing],
  ] as const) {
    let next = 0;
    relay.post(path, async (_request, reply) => {
      await relayPublisher.publish(topic, messages[next++ % messages.length]!);
      return reply.code(202).send({ status: "queued" });
    });
  }

  /** A bare kafkajs idempotent producer, one request in flight, batches of `batchSize` back to back. */
  async function bareProducer(
    topic: string,
    messages: EncodedMessage[],
    batchSize = concurrency,
  ): Promise<ProducerFigures> {
    const bare = kafka.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await bare.connect();
    let next = 0;
    const batch = () =>
      Array.from({ length: batchSize }, () => {
        const { key, value, headers } = messages[next++ % messages.length]!;
        return { key, value, headers };
      });
    const sendFor = async (ms: number) => {
      const acks: number[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const started = performance.now();
        await bare.send({ topic, acks: -1, messages: batch() });
        acks.push(performance.now() - started);
      }
      return acks;
    };
    try {
      await sendFor(warmupMs);
      const started = performance.now();
      const acks = await sendFor(durationMs);
      const seconds = (performance.now() - started) / 1000;
      const { p50Ms, p99Ms } = percentiles(acks);
      return {
        msgsPerSecond: Math.round((acks.length * batchSize) / seconds),
        batchAckP50Ms: p50Ms,
        batchAckP99Ms: p99Ms,
        messageBytes: Math.round(messages.reduce((sum, m) => sum + m.bytes, 0) / messages.length),
      };
    } finally {
      await bare.disconnect();
    }
  }

  /** The sum of a metric's series (`name` + `suffix`) whose labels pass `where`, from the gateway's registry. */
  const metricSum = async (
    name: string,
    suffix: string,
    where: (labels: Record<string, unknown>) => boolean = () => true,
  ) => {
    const values = ((await metrics.registry.getSingleMetric(name)?.get())?.values ?? []) as {
      metricName?: string;
      labels: Record<string, unknown>;
      value: number;
    }[];
    return values
      .filter((v) => v.metricName === name + suffix && where(v.labels))
      .reduce((sum, v) => sum + v.value, 0);
  };
  /** Messages and produce requests so far to `topic`: the gateway's metric, else the relay's count. */
  const batchCounts = async (topic: string) => {
    if (topic === topics.relayOrders || topic === topics.relayStripeEvents) {
      return relayBatches.get(topic) ?? { sum: 0, count: 0 };
    }
    const of = (suffix: string) =>
      metricSum("gateway_kafka_publish_batch_messages", suffix, (labels) => labels.topic === topic);
    return { sum: await of("_sum"), count: await of("_count") };
  };

  /** With BENCH_PROFILE_DIR: the gateway thread's CPU profile of `run` (the load's worker is not in it). */
  async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
    const dir = process.env.BENCH_PROFILE_DIR;
    if (!dir) return run();
    const { Session } = await import("node:inspector/promises");
    const { mkdir, writeFile } = await import("node:fs/promises");
    // BENCH_PROFILE=heap: where the thread allocates (every sampled allocation, collected or not).
    const heap = process.env.BENCH_PROFILE === "heap";
    const session = new Session();
    session.connect();
    if (heap) {
      await session.post("HeapProfiler.enable");
      await session.post("HeapProfiler.startSampling", {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    } else {
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    try {
      return await run();
    } finally {
      await mkdir(dir, { recursive: true });
      if (heap) {
        const { profile } = await session.post("HeapProfiler.stopSampling");
        await writeFile(`${dir}/${name}.heapprofile`, JSON.stringify(profile));
      } else {
        const { profile } = await session.post("Profiler.stop");
        await writeFile(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
      }
      session.disconnect();
    }
  }

  /** The gateway's GC so far: prom-client's nodejs_gc_duration_seconds (the service exports the same). */
  const gcTotals = async (): Promise<GcFigures> => {
    const gc = (suffix: string, where?: (labels: Record<string, unknown>) => boolean) =>
      metricSum("nodejs_gc_duration_seconds", suffix, where);
    return {
      majorGcs: await gc("_count", (labels) => labels.kind === "major"),
      minorGcs: await gc("_count", (labels) => labels.kind === "minor"),
      pauseMs: (await gc("_sum")) * 1000,
      pausesOver10Ms: (await gc("_count")) - (await gc("_bucket", (labels) => Number(labels.le) === 0.01)),
    };
  };

  /** The gateway thread's GC while `run` runs (the load's worker has its own heap). */
  async function gcDuring<T>(run: () => Promise<T>): Promise<[T, GcFigures]> {
    const before = await gcTotals();
    const result = await run();
    const after = await gcTotals();
    return [
      result,
      {
        majorGcs: after.majorGcs - before.majorGcs,
        minorGcs: after.minorGcs - before.minorGcs,
        pauseMs: round(after.pauseMs - before.pauseMs, 1),
        pausesOver10Ms: after.pausesOver10Ms - before.pausesOver10Ms,
      },
    ];
  }

  async function measureRoute(
    name: string,
    spec: Omit<LoadSpec, "concurrency" | "durationMs" | "warmupMs">,
    topic: string,
  ) {
    const before = await batchCounts(topic);
    const [max, maxGc] = await gcDuring(() =>
      profiled(name, () => loadInWorker({ ...spec, concurrency, durationMs, warmupMs })),
    );
    const after = await batchCounts(topic);
    const halfRateTarget = Math.max(1, Math.round(max.rps / 2));
    const [half, halfRateGc] = await gcDuring(() =>
      loadInWorker({
        ...spec,
        concurrency,
        durationMs,
        warmupMs: Math.min(warmupMs, 1_000),
        ratePerSecond: halfRateTarget,
      }),
    );
    return {
      maxRps: max.rps,
      maxP50Ms: max.p50Ms,
      maxP99Ms: max.p99Ms,
      serverCpuUsPerRequest: max.serverCpuUsPerRequest,
      clientCpuUsPerRequest: max.clientCpuUsPerRequest,
      machineIdleShare: max.machineIdleShare,
      meanBatch: round((after.sum - before.sum) / Math.max(1, after.count - before.count), 1),
      halfRateTarget,
      halfRateRps: half.rps,
      halfRateP50Ms: half.p50Ms,
      halfRateP99Ms: half.p99Ms,
      maxGc,
      halfRateGc,
      errors: max.errors + half.errors,
      statuses: Object.fromEntries(
        [...new Set([...Object.keys(max.statuses), ...Object.keys(half.statuses)])].map((s) => [
          s,
          (max.statuses[s] ?? 0) + (half.statuses[s] ?? 0),
        ]),
      ),
    } satisfies RouteFigures;
  }

  try {
    const gatewayUrl = await gateway.listen({ port: 0, host: "127.0.0.1" });
    const helloUrl = await hello.listen({ port: 0, host: "127.0.0.1" });
    const relayUrl = await relay.listen({ port: 0, host: "127.0.0.1" });
    const producerOrders = await bareProducer(topics.bareOrders, orderMessages);
    const producerWebhooks = await bareProducer(topics.bareStripeEvents, eventMessages);
    /** The bare producer in batches of the gateway's own mean batch (its group commit formed no larger). */
    const atGatewayBatch = async (topic: string, messages: EncodedMessage[], route: RouteFigures) => {
      const batch = Math.max(1, Math.round(route.meanBatch));
      return { batch, ...(await bareProducer(topic, messages, batch)) };
    };
    const helloResult = await loadInWorker({
      url: `${helloUrl}/hello`,
      method: "GET",
      headers: {},
      concurrency,
      durationMs,
      warmupMs,
    });
    const ordersSpec = {
      url: `${gatewayUrl}/api/orders`,
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: orderTemplate,
    } as const;
    const webhooksSpec = {
      url: `${gatewayUrl}/webhooks/stripe`,
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: eventTemplate,
      webhookSecret,
    } as const;
    /** A route's body and content type, sent to the relay (which checks no credentials or signature). */
    const atRelay = (path: string, spec: typeof ordersSpec | typeof webhooksSpec) =>
      ({
        url: `${relayUrl}${path}`,
        method: "POST",
        headers: { "content-type": spec.headers["content-type"] },
        body: spec.body,
      }) as const;
    const orders = await measureRoute("orders", ordersSpec, topics.orders);
    /** An open loop at `rate` (the tail of a floor at the gateway route's arrival rate). */
    const openLoopAt = async (
      spec: Omit<LoadSpec, "concurrency" | "durationMs" | "warmupMs">,
      rate: number,
    ) => {
      const { rps, p50Ms, p99Ms } = await loadInWorker({
        ...spec,
        concurrency,
        durationMs,
        warmupMs: Math.min(warmupMs, 1_000),
        ratePerSecond: rate,
      });
      return { rps, p50Ms, p99Ms };
    };
    // The HTTP stack's own tail at the rate the orders' open loop ran: what no route can beat.
    const helloAtOrdersHalfRate = await openLoopAt(
      { url: `${helloUrl}/hello`, method: "GET", headers: {} },
      orders.halfRateTarget,
    );
    const relayOrdersSpec = atRelay("/relay/orders", ordersSpec);
    const relayWebhooksSpec = atRelay("/relay/webhooks", webhooksSpec);
    const relayOrders = await measureRoute("relay-orders", relayOrdersSpec, topics.relayOrders);
    const relayOrdersAtGatewayHalfRate = await openLoopAt(relayOrdersSpec, orders.halfRateTarget);
    const webhooks = await measureRoute("webhooks", webhooksSpec, topics.stripeEvents);
    const relayWebhooks = await measureRoute("relay-webhooks", relayWebhooksSpec, topics.relayStripeEvents);
    const relayWebhooksAtGatewayHalfRate = await openLoopAt(relayWebhooksSpec, webhooks.halfRateTarget);
    const producerOrdersAtGatewayBatch = await atGatewayBatch(topics.bareOrders, orderMessages, orders);
    const producerWebhooksAtGatewayBatch = await atGatewayBatch(
      topics.bareStripeEvents,
      eventMessages,
      webhooks,
    );
    return {
      orders,
      webhooks,
      producerOrders,
      producerWebhooks,
      producerOrdersAtGatewayBatch,
      producerWebhooksAtGatewayBatch,
      relayOrders,
      relayWebhooks,
      ordersToProducer: round(orders.maxRps / Math.max(1, producerOrders.msgsPerSecond), 3),
      webhooksToProducer: round(webhooks.maxRps / Math.max(1, producerWebhooks.msgsPerSecond), 3),
      relayOrdersToProducer: round(relayOrders.maxRps / Math.max(1, producerOrders.msgsPerSecond), 3),
      relayWebhooksToProducer: round(relayWebhooks.maxRps / Math.max(1, producerWebhooks.msgsPerSecond), 3),
      ordersToRelay: round(orders.maxRps / Math.max(1, relayOrders.maxRps), 3),
      webhooksToRelay: round(webhooks.maxRps / Math.max(1, relayWebhooks.maxRps), 3),
      helloRps: helloResult.rps,
      helloAtOrdersHalfRate,
      relayOrdersAtGatewayHalfRate,
      relayWebhooksAtGatewayHalfRate,
      concurrency,
      durationMs,
      logLevel,
      loadAverage: { start: loadAtStart.map((l) => round(l)), end: os.loadavg().map((l) => round(l)) },
      cpus: os.cpus().length,
      nodeFlags: process.execArgv.filter((flag) => flag.startsWith("--max-")),
    };
  } finally {
    await gateway.close();
    await hello.close();
    await relay.close();
    await producer.disconnect();
    await store.close();
    const admin = kafka.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: specs.map((t) => t.topic) }).catch(() => {});
    await admin.disconnect();
    await stopInfra();
  }
}

if (!isMainThread) {
  parentPort?.postMessage(await generateLoad(workerData as LoadSpec));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runGatewayBenchmark();
  const { writeFile } = await import("node:fs/promises");
  if (process.env.BENCH_RESULT_FILE) await writeFile(process.env.BENCH_RESULT_FILE, JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
