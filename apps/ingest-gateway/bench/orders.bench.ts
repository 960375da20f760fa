// Throughput of POST /api/orders (validated, durably published: acks=all) against a bare Fastify
// hello-world route, same process, same concurrency, same load generator, one after the other.
//
//   node apps/ingest-gateway/bench/orders.bench.ts            # starts Kafka + Postgres if needed
//   KAFKA_BROKERS=… DATABASE_URL=… node apps/…/orders.bench.ts  # uses running (migrated) services
//   BENCH_DURATION_MS=10000 BENCH_CONCURRENCY=32               # knobs
//
// Prints JSON { ordersRps, helloRps, ratio, ordersP99Ms, helloP99Ms, … }.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

type LoadSpec = {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  /** A body template; `{{id}}` is replaced per request (unique idempotency identity). */
  body?: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
};
type LoadResult = {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  p50Ms: number;
  p99Ms: number;
};

/** Closed-loop load: `concurrency` keep-alive connections, each sending its next request on the last answer. */
async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const target = new URL(spec.url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let counter = 0;
  const one = () =>
    new Promise<number>((resolve) => {
      const body = spec.body?.replaceAll("{{id}}", `${process.pid}-${counter++}-${randomUUID()}`);
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: spec.method,
          agent,
          headers: { ...spec.headers, ...(body ? { "content-length": Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", () => resolve(0));
      req.on("socket", (socket) => socket.setNoDelay(true));
      req.end(body);
    });
  const run = async (until: number, record: boolean) => {
    await Promise.all(
      Array.from({ length: spec.concurrency }, async () => {
        while (Date.now() < until) {
          const started = performance.now();
          const status = await one();
          if (!record) continue;
          latencies.push(performance.now() - started);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status < 200 || status >= 300) errors++;
        }
      }),
    );
  };
  await run(Date.now() + spec.warmupMs, false);
  const started = Date.now();
  await run(started + spec.durationMs, true);
  const elapsed = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0) * 100) /
    100;
  return {
    requests: latencies.length,
    errors,
    statuses,
    rps: Math.round(latencies.length / elapsed),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
  };
}

/** The load generator runs in a worker thread so it does not share the server's event loop. */
function loadInWorker(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: spec });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

export type GatewayBenchmarkResult = {
  /** Mean time inside the gateway per order request, and of its Kafka publish (from /metrics). */
  serverMeanMs: number;
  publishMeanMs: number;
  ordersRps: number;
  helloRps: number;
  ratio: number;
  ordersP99Ms: number;
  helloP99Ms: number;
  ordersP50Ms: number;
  helloP50Ms: number;
  concurrency: number;
  durationMs: number;
  ordersErrors: number;
  helloErrors: number;
  ordersStatuses: Record<string, number>;
};

export async function runGatewayBenchmark(
  options: { durationMs?: number; concurrency?: number; warmupMs?: number } = {},
): Promise<GatewayBenchmarkResult> {
  const durationMs = options.durationMs ?? Number(process.env.BENCH_DURATION_MS ?? 10_000);
  const concurrency = options.concurrency ?? Number(process.env.BENCH_CONCURRENCY ?? 32);
  const warmupMs = options.warmupMs ?? Number(process.env.BENCH_WARMUP_MS ?? 2_000);

  const { createKafkaClient, createProducer, ensureTopics, topicWithCompanions } = await import(
    "@bridge/messaging"
  );
  const { createLogger, createMetrics } = await import("@bridge/observability");
  const { createStore } = await import("@bridge/store");
  const { default: Fastify } = await import("fastify");
  const { buildGateway } = await import("../src/app.ts");
  const { loadConfig } = await import("../src/config.ts");

  // Run alone: Kafka and a migrated database of its own; from `npm run bench`: the runner's.
  let brokers = process.env.KAFKA_BROKERS;
  let databaseUrl = process.env.DATABASE_URL;
  let stopInfra = async () => {};
  if (!brokers || !databaseUrl) {
    const infra = await (await import("@bridge/local-infra")).startInfraWithDatabase("bench_gateway");
    ({ kafkaBrokers: brokers, databaseUrl } = infra);
    stopInfra = infra.stop;
  }

  const logger = createLogger("ingest-gateway-bench", { level: process.env.LOG_LEVEL ?? "warn" });
  const key = `bench-key-${randomUUID()}`;
  const config = loadConfig({
    KAFKA_BROKERS: brokers,
    DATABASE_URL: databaseUrl,
    API_KEYS: `bench:${key}:orders`,
    STRIPE_WEBHOOK_SECRETS: "whsec_bench",
    LOG_LEVEL: "warn",
    // One key sends everything here: measure the gateway, not its per-key limit.
    RATE_LIMIT_ORDERS_PER_MINUTE: "10000000",
  });
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: "ingest-gateway-bench",
    logger,
  });
  const ordersTopic = `bench.orders.${Date.now()}`;
  await ensureTopics(kafka, topicWithCompanions(ordersTopic, { partitions: 6, replicationFactor: 1 }));
  const producer = createProducer(kafka, { publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS });
  await producer.connect();
  const store = createStore(config.DATABASE_URL, { poolSize: Number(process.env.BENCH_DB_POOL ?? 10) });
  const metrics = createMetrics("ingest-gateway-bench", { defaultMetrics: false });
  const gateway = await buildGateway({
    config,
    logger,
    producer,
    store,
    topics: { orders: ordersTopic },
    metrics,
  });
  const hello = Fastify({ logger: false });
  hello.get("/hello", async () => ({ hello: "world" }));

  try {
    const gatewayUrl = await gateway.listen({ port: 0, host: "127.0.0.1" });
    const helloUrl = await hello.listen({ port: 0, host: "127.0.0.1" });
    const order = JSON.stringify({
      order_type: "new",
      source: "shop",
      external_id: "BENCH-{{id}}",
      checkoutId: "basket-{{id}}",
      country: "GB",
      orderItems: [{ offer: { id: "f9a4695c077b2d1446d4fd8ebfd071b428e90899" }, quantity: 1 }],
      customerDetails: { firstName: "Ada", lastName: "Lovelace", email: "ada.lovelace@example.com" },
      billingDetails: {
        firstName: "Ada",
        lastName: "Lovelace",
        address1: "12 St James's Square",
        city: "London",
        country: "GB",
      },
      payment: { type: "stripe", stripe: { result: { paymentMethod: "pm_1Pgc75B7WZ01zgkWlHVgdEGJ" } } },
    });
    const common = { concurrency, durationMs, warmupMs };
    const helloResult = await loadInWorker({
      ...common,
      url: `${helloUrl}/hello`,
      method: "GET",
      headers: {},
    });
    const ordersResult = await loadInWorker({
      ...common,
      url: `${gatewayUrl}/api/orders`,
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: order,
    });
    const rendered = await metrics.render();
    const mean = (name: string) => {
      const sum = Number(
        rendered.match(new RegExp(`${name}_sum\\{[^}]*\\} ([0-9.e+-]+)`))?.[1] ?? Number.NaN,
      );
      const count = Number(
        rendered.match(new RegExp(`${name}_count\\{[^}]*\\} ([0-9.e+-]+)`))?.[1] ?? Number.NaN,
      );
      return Math.round((sum / count) * 100_000) / 100;
    };
    return {
      serverMeanMs: mean("gateway_http_request_duration_seconds"),
      publishMeanMs: mean("gateway_kafka_publish_duration_seconds"),
      ordersRps: ordersResult.rps,
      helloRps: helloResult.rps,
      ratio: Math.round((ordersResult.rps / Math.max(1, helloResult.rps)) * 1000) / 1000,
      ordersP99Ms: ordersResult.p99Ms,
      helloP99Ms: helloResult.p99Ms,
      ordersP50Ms: ordersResult.p50Ms,
      helloP50Ms: helloResult.p50Ms,
      concurrency,
      durationMs,
      ordersErrors: ordersResult.errors,
      helloErrors: helloResult.errors,
      ordersStatuses: ordersResult.statuses,
    };
  } finally {
    await gateway.close();
    await hello.close();
    await producer.disconnect();
    await store.close();
    const admin = kafka.kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: topicWithCompanions(ordersTopic, { partitions: 1 }).map((t) => t.topic) })
      .catch(() => {});
    await admin.disconnect();
    await stopInfra();
  }
}

if (!isMainThread) {
  parentPort?.postMessage(await generateLoad(workerData as LoadSpec));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runGatewayBenchmark();
  console.log(JSON.stringify(result));
  process.exit(0);
}
