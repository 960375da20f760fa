import { readFile } from "node:fs/promises";
import { loadCatalog } from "@bridge/store";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, newOrder, startHarness } from "../test/harness.ts";

// Decision 022: an order that names an offer version is priced at that version, even after
// Limio published a newer one; an order without a version buys the current one.
const exportUrl = new URL("../../../test/fixtures/limio/offer-export.json", import.meta.url);
let h: Harness;
let weekend: { id: string; version: string; data: { attributes: { price__limio: { value: string }[] } } };

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_versions") });
  const exported = JSON.parse(await readFile(exportUrl, "utf8"));
  weekend = exported[0];
  const republished = structuredClone(weekend);
  republished.version = "2222222222222222222222222222222222222222";
  republished.data.attributes.price__limio[0]!.value = "15.99";
  await loadCatalog(h.store.db, [weekend]);
  await loadCatalog(h.store.db, [republished]);
  await h.startWriter();
});
afterAll(async () => {
  await h?.stop();
});

async function priceOfNewOrder(email: string, offer: { id: string; version?: string }) {
  const order = newOrder({ email, payment: { type: "stripe", paymentMethodId: await h.card() } });
  order.orderItems = [{ offer, quantity: 1 }];
  const { orderId } = await h.publishOrder(order);
  const outcome = await h.waitForOutcome(orderId);
  if (outcome.status !== "applied") return outcome.error?.code;
  const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
  return sub.items.data[0]!.price.unit_amount;
}

describe("offer versions", () => {
  it("prices the version the order names, the current one without a version, and fails an unknown one", async () => {
    expect(await priceOfNewOrder("v1@example.com", { id: weekend.id, version: weekend.version })).toBe(1499);
    expect(await priceOfNewOrder("current@example.com", { id: weekend.id })).toBe(1599);
    expect(
      await priceOfNewOrder("unknown@example.com", {
        id: weekend.id,
        version: "3333333333333333333333333333333333333333",
      }),
    ).toBe("offer_version_not_found");
  }, 120_000);
});
