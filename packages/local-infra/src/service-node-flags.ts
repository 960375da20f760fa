// How Node runs the bridge's services (ingest-gateway, stripe-writer, sync-consumer), wherever
// they run: the image (Dockerfile NODE_OPTIONS, checked by service-node-flags.test.ts), the local
// run (scripts/run-local.ts) and the test supervisor (test/support/services.ts).
//
// A bounded heap: left to its defaults on a host with gigabytes free, V8 lets garbage pile up
// before a full collection, and a sync-consumer draining a backlog saw-toothed between 190 and
// 333 MB of RSS although what it kept was ~40 MB of heap (scripts/bench/drain-rss.bench.ts;
// issue 15 asks under 256 MB). With 128 MB of old space it stayed at ~155 MB. The emulator is
// not bounded: it is Stripe's stand-in and holds every object it was sent.
export const serviceNodeFlags = ["--max-old-space-size=128", "--max-semi-space-size=4"] as const;
