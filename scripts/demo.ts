// `npm run demo`: the bridge's end-to-end journey (scripts/lib/journey.ts), printed step by step
// with the Limio subscription next to Stripe's, and a pass/fail summary (exit 1 on a failure).
//
// Against a running stack: GATEWAY_URL, STRIPE_API_URL (the emulator) and BRIDGE_API_KEY. Without
// GATEWAY_URL it starts one with scripts/run-local.ts and stops it at the end.
import { runJourney } from "./lib/journey.ts";
import { startLocalStack } from "./lib/local-stack.ts";

const stack = process.env.GATEWAY_URL ? undefined : await startLocalStack();
const target = stack ?? {
  gatewayUrl: process.env.GATEWAY_URL!,
  stripeApiUrl: process.env.STRIPE_API_URL ?? "",
  apiKey: process.env.BRIDGE_API_KEY ?? "local-dev-key-change-me",
};
if (!target.stripeApiUrl) {
  console.error("STRIPE_API_URL (the emulator) is required with GATEWAY_URL");
  process.exit(2);
}
if (stack)
  process.stdout.write(
    `Started the bridge locally (gateway ${stack.gatewayUrl}, emulator ${stack.stripeApiUrl}).\n`,
  );

const results = await runJourney(target, (text) => process.stdout.write(text));
await stack?.stop();

process.stdout.write("\nSummary\n");
for (const r of results) {
  const label = r.ok === true ? "PASS" : r.ok === "skipped" ? "SKIP" : "FAIL";
  process.stdout.write(`  ${label}  ${r.name}${r.ok === true ? "" : `\n        ${r.detail}`}\n`);
}
const passed = results.filter((r) => r.ok === true).length;
const skipped = results.filter((r) => r.ok === "skipped").length;
process.stdout.write(
  `\nDemo: ${passed} passed, ${results.length - passed - skipped} failed, ${skipped} skipped\n`,
);
process.exit(passed === results.length ? 0 : 1);
