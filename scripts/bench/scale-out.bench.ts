// Scale-out benchmark (issue 15, acceptance 3), run by `npm run bench` (alone: `npm run bench --
// scale-out`; `--scale-renewals=N`, `--scale-latency-ms=N`, `--scale-replicas=N` to resize). The
// same renewal storm drained by one sync-consumer and by three replicas of it (one consumer group),
// with the emulator's rate limit lifted and the bridge's budget too, so nothing but the replicas'
// own capacity decides.
//
// What limits one replica: it syncs at most PARTITION_CONCURRENCY (4) partitions at once, one
// subscription's events after the other within a partition, and each sync waits for Stripe's
// answers. Real Stripe answers in ~100–500 ms, the emulator in a millisecond, so the emulator adds
// a response delay through its fault-injection settings (`PUT /_emulator/faults`, a delay with no
// error): 0.5×–1.5× `--scale-latency-ms` (default 200) per API request, as network and Stripe's
// processing would. Without it a replica is purely CPU-bound and three replicas on a 2-core machine
// share the same two cores. The report splits a replica's handler time by phase (decision 030):
// on the loaded machine Postgres round trips inside a sync's transaction weigh as much as Stripe.
//
// Each run: a fresh consumer group gets the end offsets of the sync's topics (as numbers), the
// clock is advanced and every webhook of the storm appended to Kafka, and only then the replicas
// start: time = the first replica holding its partitions → every subscription converged, so what
// is timed is the replicas' drain, not the delivery (which on the loaded machine took as long as
// the drain itself). The start to a stable group is reported apart. `--scale-backlog=0`: the
// replicas join first and the storm is drained as it arrives, every figure counted from the clock
// advance (the metrics' difference). The stripe-events topic gets `--scale-partitions=N` (default
// 12), enough for 3 replicas of 4 concurrent partitions each; 24 measured the same (decision 030).
import os from "node:os";
import { createKafkaClient, retryTopicOf, topics } from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore, type Store } from "@bridge/store";
import { createStripeClient, type Stripe } from "@bridge/stripe-client";
import { type BridgeServices, metricSum, startBridgeServices } from "../../test/support/services.ts";
import {
  advancePastRenewal,
  argument,
  converged,
  emulator,
  emulatorLimitEnv,
  setLimit,
  setUp,
  startReplicas,
  stopReplicas,
  syncDrained,
  waitFor,
} from "./storm-fixture.ts";

/** Partitions of the stripe-events topic unless `--scale-partitions=N` (decision 030). */
const DEFAULT_PARTITIONS = 12;
/** The sync-consumer's default PARTITION_CONCURRENCY. */
const PARTITION_CONCURRENCY = 4;
const logger = createLogger("bench-scale-out", { level: "warn" });
/** Lifted: the budget is not what this benchmark measures. */
const NO_LIMIT = "100000";

export type DrainRun = {
  replicas: number;
  renewals: number;
  /** Clock advanced → every subscription converged. */
  seconds: number;
  /** Replicas spawned → all of them in the group with their partitions. */
  startSeconds: number;
  renewalsPerSecond: number;
  stripeRequests: number;
  stripeRequestsPerSecond: number;
  /** Messages the replicas handled (events synced or skipped by coalescing). */
  messagesHandled: number;
  /** Messages the storm appended to stripe-events during the run: what the replicas had to handle. */
  stormMessages: number;
  /** Clock advanced → the last of the storm's messages appended to Kafka (sampled every second). */
  lastArrivalSeconds: number;
  /** Handler time summed over messages, and the part of it spent waiting on Stripe's answers. */
  handleSeconds: number;
  stripeWaitSeconds: number;
  /** Handler time ÷ (run time × replicas × 4 partitions at once): how busy the partition slots were. */
  slotUtilisation: number;
  /** CPU the replicas' processes used during the drain (their process_cpu_seconds_total). */
  cpuSeconds: number;
  /** Handler time by phase (sync_phase_duration_seconds, see apps/sync-consumer/src/wiring.ts). */
  phases: { settle: number; serialiseWait: number; transaction: number; budgetWait: number };
  /** What became of the messages (the sync's counters; failed handler attempts apart). */
  outcomes: { synced: number; coalesced: number; loop: number; ignored: number; failedAttempts: number };
  loadAverage: number[];
};

export type ScaleOutResult = {
  partitions: number;
  partitionConcurrency: number;
  latencyMs: [number, number];
  one: DrainRun;
  many: DrainRun;
  speedup: number;
};

/** The stripe-events topic (and its retry topic) with `count` partitions before the gateway starts. */
async function ensurePartitions(kafkaBrokers: string, count: number) {
  const kafka = createKafkaClient({ brokers: kafkaBrokers.split(","), clientId: "bench-scale-out", logger });
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    const names = [topics.stripeEvents, retryTopicOf(topics.stripeEvents)];
    const existing = new Set(await admin.listTopics());
    const missing = names.filter((t) => !existing.has(t));
    if (missing.length > 0)
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: count, replicationFactor: -1 })),
      });
    const present = names.filter((t) => existing.has(t));
    if (present.length === 0) return;
    const metadata = await admin.fetchTopicMetadata({ topics: present });
    const fewer = metadata.topics.filter((t) => t.partitions.length < count);
    if (fewer.length > 0)
      await admin.createPartitions({ topicPartitions: fewer.map((t) => ({ topic: t.name, count })) });
  } finally {
    await admin.disconnect();
  }
}

/** A new consumer group whose committed offsets are the ends of the sync's topics: it reads only what comes next. */
async function groupAtTheEnd(kafkaBrokers: string, groupId: string) {
  const kafka = createKafkaClient({ brokers: kafkaBrokers.split(","), clientId: "bench-scale-out", logger });
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    const inputs = [topics.orderOutcomes, topics.sync, topics.stripeEvents];
    // Committed as numbers: kafkajs's `resetOffsets({ earliest: false })` commits -1 ("latest"),
    // which a consumer with `fromBeginning` reads as no offset at all, so each run used to handle
    // the whole topic again (the setup's events and the earlier run's storm) before its own.
    for (const topic of [...inputs, ...inputs.map(retryTopicOf)]) {
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Messages in the stripe-events topic so far (every partition's end offset). */
async function stripeEventsAppended(kafkaBrokers: string): Promise<number> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers.split(","), clientId: "bench-scale-out", logger });
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topics.stripeEvents);
    return ends.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Is the group Stable with at least `members` members, each with its partitions (no rebalance under way)? */
async function groupStableWith(kafkaBrokers: string, groupId: string, members: number): Promise<boolean> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers.split(","), clientId: "bench-scale-out", logger });
  const admin = kafka.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state === "Stable" && groups[0].members.length >= members;
  } finally {
    await admin.disconnect();
  }
}

async function drain(
  services: BridgeServices,
  store: Store,
  stripe: Stripe,
  storm: { clockId: string; limioIds: string[] },
  replicas: number,
): Promise<DrainRun> {
  const kafkaBrokers = process.env.KAFKA_BROKERS!;
  const groupId = `bench-scale-out-${replicas}-${Date.now()}`;
  await groupAtTheEnd(kafkaBrokers, groupId);
  const backlog = argument("scale-backlog", 1) === 1;
  const appendedAtStart = await stripeEventsAppended(kafkaBrokers);
  if (backlog) {
    // The whole storm is in Kafka before any replica starts, so what is timed is the replicas'
    // drain, not the emulator's and the gateway's delivery (`--scale-backlog=0`: the replicas
    // wait, joined, and drain the storm as it arrives).
    await advancePastRenewal(stripe, storm.clockId);
    await waitFor(
      async () => (await stripe.testHelpers.testClocks.retrieve(storm.clockId)).status === "ready",
      300_000,
      "the clock to advance",
      500,
    );
    await emulator(services, "POST", "webhooks/flush");
  }
  // With a backlog, only what is appended after this counts as a late arrival.
  const appendedAtSpawn = backlog ? await stripeEventsAppended(kafkaBrokers) : 0;
  const spawned = Date.now();
  // Backlog: the drain starts when the first replica has its partitions (the others' joining
  // and the rebalances it costs are part of the drain).
  let firstMemberAt = 0;
  const firstMember = backlog
    ? waitFor(() => groupStableWith(kafkaBrokers, groupId, 1), 180_000, `${groupId} first member`, 250).then(
        () => {
          firstMemberAt = Date.now();
        },
      )
    : Promise.resolve();
  const profileDir = process.argv.find((a) => a.startsWith("--scale-cpu-prof="))?.split("=")[1];
  const running = await startReplicas(services, "sync-consumer", replicas, {
    KAFKA_GROUP_ID: groupId,
    STRIPE_RATE_LIMIT_PER_SECOND: NO_LIMIT,
    // `--scale-cpu-prof=DIR`: each replica writes a V8 CPU profile there when it stops.
    ...(profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}/${replicas}` } : {}),
  });
  try {
    await waitFor(() => groupStableWith(kafkaBrokers, groupId, replicas), 180_000, `${groupId} stable`, 500);
    const startSeconds = (Date.now() - spawned) / 1000;
    process.stderr.write(`[bench]     ${replicas} replica(s) joined in ${startSeconds.toFixed(0)} s\n`);
    await firstMember;
    // Figures are counted from here: what the replicas did while joining is not the drain's
    // (with a backlog, from the replicas' start: they drain as soon as they join).
    const before = backlog ? running.map(() => "") : await Promise.all(running.map((r) => r.metrics()));
    const appendedBefore = backlog ? appendedAtStart : await stripeEventsAppended(kafkaBrokers);
    const started = backlog ? firstMemberAt : Date.now();
    // When the storm's last webhook reached Kafka: a drain that ends right after it was paced by
    // the arrival, not by the replicas.
    const arrival = { appended: backlog ? appendedAtSpawn : appendedBefore, lastSeconds: 0, done: false };
    const watchArrival = (async () => {
      while (!arrival.done) {
        const appended = await stripeEventsAppended(kafkaBrokers);
        if (appended > arrival.appended)
          Object.assign(arrival, { appended, lastSeconds: (Date.now() - started) / 1000 });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    })();
    try {
      if (!backlog) await advancePastRenewal(stripe, storm.clockId);
      await waitFor(
        async () => (await converged(store, storm.limioIds)) === storm.limioIds.length,
        600_000,
        `${storm.limioIds.length} renewals converged with ${replicas} replica(s)`,
        250,
      );
    } finally {
      arrival.done = true;
    }
    const seconds = (Date.now() - started) / 1000;
    await watchArrival;
    const stormMessages = (await stripeEventsAppended(kafkaBrokers)) - appendedBefore;
    const after = await Promise.all(running.map((r) => r.metrics()));
    const sum = (name: string, labels: Record<string, string> = {}) =>
      after.reduce((n, t, i) => n + metricSum(t, name, labels) - metricSum(before[i]!, name, labels), 0);
    const stripeRequests = sum("stripe_requests_total");
    const handleSeconds = sum("messaging_handle_duration_seconds_sum");
    const phase = (name: string) => sum("sync_phase_duration_seconds_sum", { phase: name });
    return {
      replicas,
      renewals: storm.limioIds.length,
      seconds,
      startSeconds,
      renewalsPerSecond: storm.limioIds.length / seconds,
      stripeRequests,
      stripeRequestsPerSecond: stripeRequests / seconds,
      messagesHandled: sum("messaging_messages_handled_total"),
      stormMessages,
      lastArrivalSeconds: arrival.lastSeconds,
      handleSeconds,
      stripeWaitSeconds: sum("stripe_request_duration_seconds_sum"),
      slotUtilisation: handleSeconds / (seconds * replicas * PARTITION_CONCURRENCY),
      cpuSeconds: sum("process_cpu_seconds_total"),
      phases: {
        settle: phase("settle"),
        serialiseWait: phase("serialise_wait"),
        transaction: phase("transaction"),
        budgetWait: phase("budget_wait"),
      },
      outcomes: {
        synced: sum("sync_applied_total"),
        coalesced: sum("sync_skipped_coalesced_total"),
        loop: sum("sync_skipped_loop_total"),
        ignored: sum("sync_ignored_total"),
        failedAttempts: sum("messaging_messages_failed_total"),
      },
      loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
    };
  } finally {
    await stopReplicas(running);
  }
}

export async function runScaleOutBenchmark(): Promise<ScaleOutResult> {
  const renewals = argument("scale-renewals", 40);
  const latency = argument("scale-latency-ms", 200);
  const many = argument("scale-replicas", 3);
  const partitions = argument("scale-partitions", DEFAULT_PARTITIONS);
  const kafkaBrokers = process.env.KAFKA_BROKERS!;
  const databaseUrl = process.env.DATABASE_URL!;
  await ensurePartitions(kafkaBrokers, partitions);
  process.stderr.write(`[bench]   stripe-events at ${partitions} partitions; starting the services\n`);
  const services = await startBridgeServices({
    kafkaBrokers,
    databaseUrl,
    env: {
      emulator: emulatorLimitEnv(0),
      sync: { STRIPE_RATE_LIMIT_PER_SECOND: NO_LIMIT },
      writer: { STRIPE_RATE_LIMIT_PER_SECOND: NO_LIMIT },
    },
  });
  const store = createStore(databaseUrl, { poolSize: 8 });
  // The services' child processes are unref'd: while the bench only awaits one's exit, this timer
  // keeps Node from deciding there is nothing left to wait for.
  const keepAlive = setInterval(() => {}, 1_000);
  const { stripe } = createStripeClient({
    secretKey: services.stripeSecretKey,
    apiUrl: services.stripeApiUrl,
    ratePerSecond: 100_000,
  });
  try {
    await setLimit(services, 0);
    // Two storms of the same size, each on its own clock: one per run.
    const storms = [
      await setUp(stripe, { store, stripe }, renewals),
      await setUp(stripe, { store, stripe }, renewals),
    ];
    process.stderr.write(`[bench]   2 × ${renewals} subscriptions set up; draining their webhooks\n`);
    await emulator(services, "POST", "webhooks/flush");
    await waitFor(() => syncDrained(services), 300_000, "the setup's webhooks to drain", 1_000);
    // The services' own sync-consumer leaves: the replicas under test take its place.
    await services.kill("sync");
    const delay: [number, number] = [Math.round(latency / 2), Math.round((latency * 3) / 2)];
    await emulator(services, "PUT", "faults", { rules: { "*": { delayMs: delay } } });
    process.stderr.write(`[bench]   ${renewals} renewals drained by 1 sync-consumer\n`);
    const one = await drain(services, store, stripe, storms[0]!, 1);
    process.stderr.write(`[bench]   ${renewals} renewals drained by ${many} sync-consumers\n`);
    const manyRun = await drain(services, store, stripe, storms[1]!, many);
    return {
      partitions,
      partitionConcurrency: PARTITION_CONCURRENCY,
      latencyMs: delay,
      one,
      many: manyRun,
      speedup: one.seconds / manyRun.seconds,
    };
  } finally {
    await store.close();
    await services.stop();
    clearInterval(keepAlive);
  }
}

export function formatScaleOutBenchmark(r: ScaleOutResult): string {
  const rows = [r.one, r.many].map((run) =>
    [
      String(run.replicas).padStart(8),
      String(run.renewals).padStart(8),
      run.seconds.toFixed(1).padStart(6),
      run.startSeconds.toFixed(1).padStart(7),
      run.renewalsPerSecond.toFixed(2).padStart(10),
      run.stripeRequestsPerSecond.toFixed(1).padStart(7),
      String(run.messagesHandled).padStart(8),
      `${run.handleSeconds.toFixed(0)} s (${run.stripeWaitSeconds.toFixed(0)} s Stripe)`.padStart(20),
      run.slotUtilisation.toFixed(2).padStart(5),
      run.loadAverage.join(", "),
    ].join(" | "),
  );
  const split = [r.one, r.many].map(
    (run) =>
      `${run.replicas} replica(s): CPU ${run.cpuSeconds.toFixed(1)} s; handler time ${run.handleSeconds.toFixed(1)} s = Stripe ${run.stripeWaitSeconds.toFixed(1)} s, settle ${run.phases.settle.toFixed(1)} s, serialise wait ${run.phases.serialiseWait.toFixed(1)} s, budget wait ${run.phases.budgetWait.toFixed(1)} s, transactions ${run.phases.transaction.toFixed(1)} s (Stripe included); messages: ${run.stormMessages} appended by the storm, the last at ${run.lastArrivalSeconds.toFixed(0)} s; ${run.outcomes.synced} synced, ${run.outcomes.coalesced} coalesced, ${run.outcomes.loop} loop, ${run.outcomes.ignored} ignored, ${run.outcomes.failedAttempts} failed attempts`,
  );
  return [
    `Stripe latency ${r.latencyMs[0]}–${r.latencyMs[1]} ms per request; ${r.partitions} partitions, ${r.partitionConcurrency} at once per replica; speedup ${r.speedup.toFixed(2)}×`,
    "replicas | renewals |      s | start s | renewals/s |  req/s | messages |   handler time       | slots | load average",
    ...rows,
    ...split,
  ].join("\n");
}
