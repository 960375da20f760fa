import { readFile } from "node:fs/promises";
import { buildPriceParams, demoCatalogUrl, type Offer, parseCatalog } from "@bridge/domain";
import { loadCatalog } from "@bridge/store";
import { createStripeClient, type RateLimiter } from "@bridge/stripe-client";
import { advanceClock, type EmulatedStripe, startStripe, utc } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  seedSubscription,
  startTestGateway,
  type TestGateway,
  topicMessageCount,
} from "../../../test/support.ts";
import { requestBoundLimiter } from "../../preview-budget.ts";

/**
 * Acceptance 2 of issue 13: the preview answers what Stripe's own invoice preview gives for the
 * same order (asked here directly, with hand-written parameters), and writes nothing: the only
 * non-GET request the emulator sees is `POST /v1/invoices/create_preview`; no Kafka message.
 */
const DIGITAL_MONTHLY = "cd6ab2dcae031206d51dc28b1dbfebdb980be49f"; // £9.99 / month
/** A dearer monthly offer of the same product, added to the demo catalog for this file. */
const DIGITAL_PLUS = "digital-plus-monthly-preview-test"; // £12.99 / month
/** An offer loaded in two versions (£7.99, then £15.99) by the version test. */
const VERSIONED = "digital-versioned-preview-test";

let gw: TestGateway;
let emulated: EmulatedStripe;
let stripe: Stripe;
const priceOf = new Map<string, string>();

beforeAll(async () => {
  emulated = await startStripe();
  stripe = emulated.stripe;
  gw = await startTestGateway({ stripe });
  const catalog = JSON.parse(await readFile(demoCatalogUrl, "utf8"));
  const monthly = catalog.offers.find((o: { id: string }) => o.id === DIGITAL_MONTHLY);
  catalog.offers.push({
    ...monthly,
    id: DIGITAL_PLUS,
    name: "Digital Plus Monthly",
    charges: [{ ...monthly.charges[0], value: "12.99" }],
  });
  await loadCatalog(gw.store.db, catalog);
  // The prices the writer would have created for these offers (same params, same lookup keys).
  const parsed = parseCatalog(catalog);
  if (!parsed.ok) throw new Error("demo catalog invalid");
  for (const id of [DIGITAL_MONTHLY, DIGITAL_PLUS]) {
    const offer = parsed.catalog.offers.find((o) => o.id === id) as Offer;
    await stripe.products.create({ id: offer.stripeProductCode, name: offer.name }).catch(() => undefined);
    const price = await stripe.prices.create(buildPriceParams(offer, 0));
    priceOf.set(id, price.id);
  }
});
afterAll(async () => {
  await gw?.close();
  await emulated?.emu.stop();
});

type Logged = { method: string; path: string };
async function requestLog(): Promise<Logged[]> {
  const body = (await (await fetch(`${emulated.emu.url}/_emulator/requests`)).json()) as { data: Logged[] };
  return body.data;
}

/** The preview's answer, with the emulator's writes and the orders topic checked around it. */
async function preview(order: Record<string, unknown>) {
  const before = (await requestLog()).length;
  const res = await gw.app.inject({
    method: "POST",
    url: "/api/order/preview",
    headers: bearer(keys.shop),
    payload: order,
  });
  const writes = (await requestLog())
    .slice(before)
    .filter((r) => r.method !== "GET")
    .map((r) => `${r.method} ${r.path.split("?")[0]}`);
  expect(writes.every((w) => w === "POST /v1/invoices/create_preview")).toBe(true);
  expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(0);
  return { status: res.statusCode, body: res.json() };
}

const email = (name: string) => `${name}-${Date.now()}@example.com`;
const newOrder = (to: string, offerId: string) => ({
  order_type: "new",
  source: "shop",
  orderItems: [{ offer: { id: offerId }, quantity: 1 }],
  billingDetails: { firstName: "Ada", lastName: "Lovelace", email: to, country: "GB" },
  customerDetails: { firstName: "Ada", lastName: "Lovelace", email: to },
  payment: { type: "stripe" },
  checkoutId: `basket-${to}`,
  country: "GB",
});

/** A paid monthly subscription to `offerId` on a test clock, half-way through its period, linked in the store. */
async function halfWayThrough(offerId: string) {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: utc(2026, 3, 1) });
  const customer = await stripe.customers.create({ email: email("switch"), test_clock: clock.id });
  const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: priceOf.get(offerId)! }],
  });
  const item = sub.items.data[0]!;
  await advanceClock(stripe, clock.id, Math.round((item.current_period_start + item.current_period_end) / 2));
  const row = await seedSubscription(gw.store);
  await gw.store.db.subscription.update({
    where: { id: row.id },
    data: { stripeSubscriptionId: sub.id, stripeCustomerId: customer.id, offerId },
  });
  return { sub, item, subscriptionId: row.id };
}

async function previewSwitch(subscriptionId: string, offerId: string) {
  const order = { order_type: "change_offer", source: "shop", subscriptionId, offer: { id: offerId } };
  const { status, body } = await preview(order);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
}

describe("POST /api/order/preview", () => {
  it("a new order: today's amount is Stripe's preview of that subscription, the renewal a month on", async () => {
    const to = email("new");
    const customer = await stripe.customers.create({ email: to });
    const { status, body } = await preview(newOrder(to, DIGITAL_PLUS));
    expect(status, JSON.stringify(body)).toBe(200);

    const direct = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription_details: { items: [{ price: priceOf.get(DIGITAL_PLUS)!, quantity: 1 }] },
    });
    expect(direct.amount_due).toBe(1299);
    expect(body).toMatchObject({
      order_type: "new",
      today: { amount: direct.amount_due, currency: "gbp" },
      nextRenewal: { amount: 1299 },
    });
    // Both previews start "now": the direct one, asked after, may fall in the next second.
    expect(direct.lines.data[0]!.period.end * 1000 - Date.parse(body.nextRenewal.date)).toBeOneOf([0, 1000]);
  });

  it("an upgrade: Stripe's prorated invoice today (unused time credited), the new price from then on", async () => {
    const { sub, item, subscriptionId } = await halfWayThrough(DIGITAL_MONTHLY);
    const body = await previewSwitch(subscriptionId, DIGITAL_PLUS);

    const direct = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: {
        items: [{ id: item.id, price: priceOf.get(DIGITAL_PLUS)!, quantity: 1 }],
        proration_behavior: "always_invoice",
        billing_cycle_anchor: { type: "now" },
      },
    });
    // About half of £9.99 credited, the full £12.99 charged: neither a full nor a zero charge.
    expect(direct.amount_due).toBeGreaterThan(1299 - 999);
    expect(direct.amount_due).toBeLessThan(1299);
    expect(body).toMatchObject({
      order_type: "change_offer",
      direction: "upgrade",
      today: { amount: direct.amount_due, currency: "gbp" },
      nextRenewal: { amount: 1299 },
    });
    expect(body.today.lines).toEqual(
      direct.lines.data.map((l) => ({ description: l.description, amount: l.amount })),
    );
    // Stripe's now is the test clock's: the upgrade takes effect then.
    const clockNow = Date.parse(body.effectiveAt);
    expect(clockNow).toBeLessThan(item.current_period_end * 1000);
  });

  it("a downgrade: nothing today; the lower price billed at the period end, when it takes effect", async () => {
    const { sub, item, subscriptionId } = await halfWayThrough(DIGITAL_PLUS);
    const body = await previewSwitch(subscriptionId, DIGITAL_MONTHLY);

    const direct = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: {
        items: [
          { id: item.id, deleted: true },
          { price: priceOf.get(DIGITAL_MONTHLY)!, quantity: 1 },
        ],
        proration_behavior: "none",
      },
    });
    expect(direct.amount_due).toBe(999);
    const periodEnd = new Date(item.current_period_end * 1000).toISOString();
    expect(body).toEqual({
      order_type: "change_offer",
      direction: "downgrade",
      today: { amount: 0, currency: "gbp", lines: [] },
      nextRenewal: { amount: direct.amount_due, date: periodEnd },
      effectiveAt: periodEnd,
    });
    // The subscription itself is untouched: still on the higher price, no schedule.
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.items.data.map((i) => i.price.id)).toEqual([priceOf.get(DIGITAL_PLUS)]);
    expect(after.schedule).toBeNull();
  });

  it("a new order from someone who is not a Stripe customer yet: Stripe's preview from customer_details, no customer created", async () => {
    const to = email("first-time");
    const { status, body } = await preview(newOrder(to, DIGITAL_PLUS));
    expect(status, JSON.stringify(body)).toBe(200);
    const direct = await stripe.invoices.createPreview({
      customer_details: { tax_exempt: "none" },
      subscription_details: { items: [{ price: priceOf.get(DIGITAL_PLUS)!, quantity: 1 }] },
    });
    expect(direct.amount_due).toBe(1299);
    expect(body).toMatchObject({
      today: { amount: direct.amount_due, currency: "gbp" },
      nextRenewal: { amount: 1299 },
    });
    expect((await stripe.customers.list({ email: to })).data).toEqual([]);
  });

  it("prices the offer version the order names, not the current one, as the writer bills it (decision 022)", async () => {
    // One offer republished at a new price: the old version is kept beside the new current one.
    const catalog = JSON.parse(await readFile(demoCatalogUrl, "utf8"));
    const monthly = catalog.offers.find((o: { id: string }) => o.id === DIGITAL_MONTHLY);
    const versioned = (version: string, value: string) => ({
      ...monthly,
      id: VERSIONED,
      version: version.repeat(40),
      name: "Digital Versioned Monthly",
      charges: [{ ...monthly.charges[0], value }],
    });
    const bought = versioned("a", "7.99");
    const current = versioned("b", "15.99");
    for (const offer of [bought, current]) {
      await loadCatalog(gw.store.db, { ...catalog, offers: [...catalog.offers, offer] });
      const parsed = parseCatalog({ offers: [offer] });
      if (!parsed.ok) throw new Error("versioned offer invalid");
      const stripeOffer = parsed.catalog.offers[0] as Offer;
      await stripe.products
        .create({ id: stripeOffer.stripeProductCode, name: stripeOffer.name })
        .catch(() => undefined);
      await stripe.prices.create(buildPriceParams(stripeOffer, 0));
    }
    const order = newOrder(email("versioned"), VERSIONED);
    const named = await preview({
      ...order,
      orderItems: [{ offer: { id: VERSIONED, version: bought.version }, quantity: 1 }],
    });
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    expect(named.body).toMatchObject({ today: { amount: 799 }, nextRenewal: { amount: 799 } });
    // Without a version, the current one.
    const unnamed = await preview(order);
    expect(unnamed.body).toMatchObject({ today: { amount: 1599 }, nextRenewal: { amount: 1599 } });
  });

  it("refuses an offer Stripe has never priced (409), creating nothing", async () => {
    const to = email("unpriced");
    await stripe.customers.create({ email: to });
    const { status, body } = await preview(newOrder(to, "824dac9cd63e67003c26a5f14a8b70f64723c812"));
    expect(status, JSON.stringify(body)).toBe(409);
    expect(body.error.code).toBe("offer_not_priced");
  });
});

describe("POST /api/order/preview while the Stripe budget has no slot for it", () => {
  it("answers 503 stripe_budget_busy with Retry-After within PREVIEW_BUDGET_WAIT_MS, sending Stripe nothing", async () => {
    // Orders hold every slot of the account for longer than the preview may wait.
    const saturated: RateLimiter = { ratePerSecond: 25, acquire: () => new Promise(() => {}) };
    const { stripe: starved } = createStripeClient({
      secretKey: "sk_test_preview_budget",
      apiUrl: emulated.emu.url,
      limiter: requestBoundLimiter(saturated, { maxWaiting: 5 }),
    });
    const busy = await startTestGateway({
      topics: gw.topics,
      stripe: starved,
      config: { PREVIEW_BUDGET_WAIT_MS: "300", RETRY_AFTER_SECONDS: "7" },
    });
    try {
      const before = (await requestLog()).length;
      const started = Date.now();
      const res = await busy.app.inject({
        method: "POST",
        url: "/api/order/preview",
        headers: bearer(keys.shop),
        payload: newOrder(email("busy"), DIGITAL_MONTHLY),
      });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers["retry-after"]).toBe("7");
      expect(res.json().error.code).toBe("stripe_budget_busy");
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await requestLog()).length).toBe(before);
    } finally {
      await busy.close();
    }
  });
});
