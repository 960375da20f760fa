// Cross-service end to end: the services run as separate processes (scripts/run-local.ts, the
// README's run command) on this run's Kafka and Postgres, and one subscription goes through every
// seed action and sync path: new order, upgrade, downgrade with the clock past renewal, change
// address, change payment, the Sync API, cancel, and a Stripe-side dunning cancellation.
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJourney, type StepResult } from "../../scripts/lib/journey.ts";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({
    env: { KAFKA_BROKERS: kafkaBrokers().join(","), DATABASE_URL: await freshDatabase("e2e-journey") },
  });
}, 150_000);
afterAll(async () => {
  expect(await stack?.stop()).toBe(0);
});

describe("the journey across gateway, writer, sync and the Stripe emulator", () => {
  it("passes every step with Limio and Stripe agreeing after each", async () => {
    let transcript = "";
    const results: StepResult[] = await runJourney(stack, (text) => {
      transcript += text;
    });
    const failed = results.filter((r) => r.ok !== true);
    expect(
      failed,
      `failed steps:\n${failed.map((f) => `${f.name}: ${f.detail}`).join("\n")}\n\n${transcript}`,
    ).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^New order/),
        expect.stringMatching(/^Upgrade/),
        expect.stringMatching(/^Downgrade/),
        expect.stringMatching(/^Change address/),
        expect.stringMatching(/^Change payment/),
        expect.stringMatching(/^Sync API/),
        expect.stringMatching(/^Cancel/),
        expect.stringMatching(/^Stripe-side/),
        expect.stringMatching(/^Discounted order/),
      ]),
    );
  }, 300_000);
});
