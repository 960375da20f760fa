// How Node runs the bridge's services (ingest-gateway, stripe-writer, sync-consumer), wherever
// they run: the image (Dockerfile NODE_OPTIONS, and docker-compose's for the gateway, checked by
// service-node-flags.test.ts), the local run (scripts/run-local.ts) and the test supervisor
// (test/support/services.ts).
//
// A bounded heap: left to its defaults on a host with gigabytes free, V8 lets garbage pile up
// before a full collection, and a sync-consumer draining a backlog saw-toothed between 190 and
// 333 MB of RSS although what it kept was ~40 MB of heap (scripts/bench/drain-rss.bench.ts;
// issue 15 asks under 256 MB). With 128 MB of old space it stayed at ~155 MB. The emulator is
// not bounded: it is Stripe's stand-in and holds every object it was sent.
export const serviceNodeFlags = ["--max-old-space-size=128", "--max-semi-space-size=4"] as const;

// The gateway allocates a few short-lived objects per HTTP request at thousands of requests a
// second: with a 4 MB semi-space they were promoted early and collected by mark-compacts, which
// took its CPU per order from 318 to 508 µs in the same benchmark (decision 029). Its RSS with
// 16 MB stays well under 256 MB (npm run bench -- memory).
export const gatewayNodeFlags = ["--max-old-space-size=128", "--max-semi-space-size=16"] as const;

/** The flags of one app, by its directory name under apps/. */
export function nodeFlagsOf(app: string): readonly string[] {
  if (app === "stripe-emulator") return [];
  return app === "ingest-gateway" ? gatewayNodeFlags : serviceNodeFlags;
}
