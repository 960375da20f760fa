import { fileURLToPath } from "node:url";
import type { Offer } from "@bridge/domain";
import { findOrder } from "@bridge/store";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { beforeStripeSubscription as trialForAnnual } from "../hooks/trial-for-annual.ts";
import { type Harness, hex, newOrder, offers, startHarness } from "../test/harness.ts";
import { composeHooks, type HookContext, loadHooks } from "./hooks.ts";

const examplePath = fileURLToPath(new URL("../hooks/trial-for-annual.ts", import.meta.url));
const annual = {
  id: "a",
  name: "Annual",
  stripeProductCode: "prod_X",
  term: { length: 12, type: "months" },
  autoRenew: true,
  charges: [
    {
      value: "99.00",
      currencyCode: "GBP",
      type: "recurring",
      repeat_interval: 1,
      repeat_interval_type: "years",
    },
  ],
} as unknown as Offer;
const monthly = { ...annual, charges: [{ ...annual.charges[0]!, repeat_interval_type: "months" }] } as Offer;
const ctx = (offer: Offer): HookContext => ({
  orderId: "order-x",
  subscriptionId: "sub-x",
  source: "shop",
  order: {} as never,
  offer,
});

describe("hooks", () => {
  it("the example adds trial days and metadata to annual offers only", () => {
    process.env.TRIAL_FOR_ANNUAL_DAYS = "14";
    try {
      const params = { customer: "cus_1", items: [{ price: "price_1" }], metadata: { a: "1" } };
      expect(trialForAnnual(params, ctx(annual))).toEqual({
        ...params,
        metadata: { a: "1", limio_promotion: "annual-trial" },
        trial_period_days: 14,
      });
      expect(trialForAnnual(params, ctx(monthly))).toEqual(params);
    } finally {
      delete process.env.TRIAL_FOR_ANNUAL_DAYS;
    }
  });

  it("loads HOOK_MODULES paths and chains them in order", async () => {
    const hooks = await loadHooks([examplePath]);
    expect(hooks.names).toEqual([examplePath]);
    const chained = composeHooks([
      {
        name: "first",
        module: { beforeStripeSubscription: (p) => ({ ...p, metadata: { ...p.metadata, order: "first" } }) },
      },
      {
        name: "second",
        module: {
          beforeStripeSubscription: (p) => ({
            ...p,
            metadata: { ...p.metadata, order: `${(p.metadata as Record<string, string>).order}+second` },
          }),
        },
      },
    ]);
    const out = await chained.beforeStripeSubscription({ customer: "c", items: [] }, ctx(monthly));
    expect(out.metadata).toEqual({ order: "first+second" });
  });

  it("refuses a module that exports no hook", async () => {
    await expect(loadHooks([fileURLToPath(new URL("./crash.ts", import.meta.url))])).rejects.toThrow(
      /exports neither/,
    );
  });
});

describe("hooks through the writer", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_hooks") });
    const example = await loadHooks([examplePath]);
    await h.startWriter({
      hooks: composeHooks([
        {
          name: "example",
          module: { beforeStripeSubscription: (p, c) => example.beforeStripeSubscription(p, c) },
        },
        {
          // A hook that bills more than the plan: two seats where the order asked for one.
          name: "double-seats",
          module: {
            beforeStripeSubscription: (p, c) =>
              c.order.order_type === "new" && c.order.email.startsWith("double")
                ? { ...p, items: p.items?.map((i) => ({ ...i, quantity: 2 })) }
                : p,
          },
        },
        {
          name: "refuse-blocked",
          module: {
            beforeStripeSubscription: (p, c) => {
              if (c.order.order_type === "new" && c.order.email.startsWith("blocked"))
                throw new Error("customer is on the block list");
              return p;
            },
            beforeStripePayInvoice: (p, c) => ({ ...p, off_session: c.amountDue > 0 }),
          },
        },
      ]),
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("beforeStripeSubscription changes the params of the created subscription", async () => {
    const { orderId } = await h.publishOrder(
      newOrder({
        email: `annual+${hex(6)}@example.com`,
        offerId: offers.digitalAnnual,
        payment: { type: "stripe", paymentMethodId: await h.card() },
      }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome.status).toBe("applied");
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.metadata.limio_promotion).toBe("annual-trial");
    expect(sub.metadata.limio_order_id).toBe(orderId);
    expect(sub.status).toBe("active");
  });

  it("a hook that throws fails the order with hook_failed and its message, before any subscription", async () => {
    const { orderId } = await h.publishOrder(newOrder({ email: `blocked+${hex(6)}@example.com` }));
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "hook_failed" } });
    expect(outcome.error?.message).toContain("customer is on the block list");
    expect((await findOrder(h.store.db, orderId))?.status).toBe("failed");
    const subs = await h.stripe.subscriptions.list({ limit: 100 });
    expect(subs.data.filter((s) => s.metadata.limio_order_id === orderId)).toHaveLength(0);
  });

  it("a hook that makes Stripe bill another amount than the order's total: the invoice voided, the order failed", async () => {
    const { orderId } = await h.publishOrder(
      newOrder({
        email: `double+${hex(6)}@example.com`,
        payment: { type: "stripe", paymentMethodId: await h.card() },
        extra: { total: { amount: "9.99", currency: "GBP" } },
      }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "amount_mismatch" } });
    expect(outcome.error?.message).toMatch(/^total: .*1998.*999/);
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    const invoice = await h.stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice).toMatchObject({ status: "void", amount_paid: 0 });
  });
});
