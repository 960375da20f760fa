import { advanceClock, freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, newOrder, startHarness } from "../test/harness.ts";

let h: Harness;
let writer: Promise<unknown> | undefined;
/** The writer, started once, by the first test that needs it (the race test starts it late). */
const writerRunning = () => {
  writer ??= h.startWriter();
  return writer;
};

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_customers") });
});
afterAll(async () => {
  await h?.stop();
});

describe("one Stripe customer per email (decision 019)", () => {
  it("concurrent new orders for one new email, on different partitions, create one customer and are all applied on it", async () => {
    const email = "mary.somerville@example.com";
    // Every order is on the topic before the writer starts, on two partitions at least, so the
    // writer handles two at once; customer creates are held 300 ms, so both orders look the
    // email up before either customer exists (on Stripe: two writer replicas, one network hop).
    const published: { orderId: string; partition: number }[] = [];
    while (new Set(published.map((p) => p.partition)).size < 2) {
      const paymentMethodId = await h.card();
      published.push(await h.publishOrder(newOrder({ email, payment: { type: "stripe", paymentMethodId } })));
    }
    const faults = await fetch(`${h.emu.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "POST /v1/customers": { delayMs: 300 } }),
    });
    expect(faults.status).toBe(200);
    await writerRunning();

    const outcomes = await Promise.all(published.map(({ orderId }) => h.waitForOutcome(orderId)));
    expect(outcomes.map((o) => o.status)).toEqual(published.map(() => "applied"));
    const customers = await h.stripe.customers.list({ email, limit: 10 });
    expect(customers.data).toHaveLength(1);
    const customerId = customers.data[0]!.id;
    expect(new Set(outcomes.map((o) => o.stripe.customerId))).toEqual(new Set([customerId]));
    for (const outcome of outcomes) {
      const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
      expect(sub).toMatchObject({ customer: customerId, status: "active" });
      const paid = (await h.stripe.invoices.retrieve(sub.latest_invoice as string)) as Stripe.Invoice;
      expect(paid.status).toBe("paid");
    }
    const rows = await h.store.db.customerEmailClaim.findMany();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(email);
  });

  it("a new order is applied on the customer created elsewhere with other capitals, creating none", async () => {
    // Created in the Dashboard as `Mary.Fairfax@Example.com` a minute ago (a test clock, advanced
    // past the minute search needs: docs.stripe.com/search#data-freshness).
    const start = Math.floor(Date.now() / 1000);
    const clock = await h.stripe.testHelpers.testClocks.create({ frozen_time: start });
    const elsewhere = await h.stripe.customers.create({
      email: "Mary.Fairfax@Example.com",
      test_clock: clock.id,
    });
    await advanceClock(h.stripe, clock.id, start + 60);

    await writerRunning();
    const paymentMethodId = await h.card();
    const { orderId } = await h.publishOrder(
      newOrder({ email: "mary.fairfax@example.com", payment: { type: "stripe", paymentMethodId } }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "applied", stripe: { customerId: elsewhere.id } });
    // No second customer: the one there is Mary's, its details (email included, lower-cased) updated.
    const listed = await h.stripe.customers.list({ email: "mary.fairfax@example.com" });
    expect(listed.data.map((c) => c.id)).toEqual([elsewhere.id]);
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub).toMatchObject({ customer: elsewhere.id, status: "active" });
  });
});
