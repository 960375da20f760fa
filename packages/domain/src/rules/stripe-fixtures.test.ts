import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { applyPatch, emptySubscriptionRecord } from "../../test/patch-model.ts";
import { relatedStripeIds, stripeEventKey } from "../stripe/event-ids.ts";
import type {
  StripeEventObjectLike,
  StripeInvoiceLike,
  StripePaymentMethodLike,
  StripeSubscriptionLike,
} from "../stripe/types.ts";
import { isLimioInitiated } from "./loop-prevention.ts";
import { buildSubscriptionPatch, type StripeSubscriptionScheduleLike } from "./subscription-patch.ts";

/**
 * Stripe's published sample objects (stripe/openapi fixtures3.json, API 2026-10-28) through the
 * rules. The committed copy under test/fixtures/stripe is preferred; ../shared (beside the repo)
 * is the fallback and, when present, must still agree with the copy.
 */
const repoRoot = new URL("../../../../", import.meta.url);
const copyUrl = new URL("test/fixtures/stripe/fixtures3-subset.json", repoRoot);
const sharedUrl = new URL("../shared/reference/stripe/fixtures3.json", repoRoot);
const NAMES = ["subscription", "invoice", "payment_method", "subscription_schedule"] as const;

type Resources = Record<(typeof NAMES)[number], unknown>;
const read = (url: URL) => (JSON.parse(readFileSync(url, "utf8")) as { resources: Resources }).resources;
const resources: Resources = existsSync(copyUrl) ? read(copyUrl) : read(sharedUrl);

const subscription = resources.subscription as StripeSubscriptionLike;
const invoice = resources.invoice as StripeInvoiceLike;
const paymentMethod = resources.payment_method as StripePaymentMethodLike;
const schedule = resources.subscription_schedule as StripeSubscriptionScheduleLike;
const now = new Date("2024-01-01T00:00:00.000Z");
const T = "2009-02-13T23:31:30.000Z"; // Stripe's placeholder timestamp 1234567890

describe("Stripe fixtures3 objects", () => {
  it("the committed copy exists and matches ../shared when that sits beside the repo", () => {
    expect(existsSync(copyUrl)).toBe(true);
    if (!existsSync(sharedUrl)) return;
    const shared = read(sharedUrl);
    for (const name of NAMES) expect(resources[name]).toEqual(shared[name]);
  });

  it("map to the expected Limio patch", () => {
    const patch = buildSubscriptionPatch({
      subscription,
      invoices: [invoice],
      upcomingInvoice: invoice,
      defaultPaymentMethod: paymentMethod,
      schedule,
      now,
    });
    expect(patch).toEqual({
      status: "active",
      stripeStatus: "active",
      startDate: T,
      // Stripe's sample item period is inverted (end before start); the rule reports it rather than inventing dates.
      termStartDate: "2030-02-06T01:08:38.000Z",
      termEndDate: "2000-12-08T15:02:53.000Z",
      cancelAtTermEnd: true,
      cancelAt: T,
      canceledAt: T,
      endedAt: T,
      trialEnd: T,
      stripeSubscriptionId: "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
      stripeCustomerId: "cus_QXg1o8vcGmoR32",
      stripeScheduleId: null,
      pendingChange: {
        stripeScheduleId: "sub_sched_1Pgc7AB7WZ01zgkWaeHcsbnC",
        effectiveAt: "2024-08-02T00:34:32.000Z",
        priceIds: ["price_1PgafmB7WZ01zgkW6dKueIc5"],
      },
      paymentMethod: {
        stripePaymentMethodId: "pm_1Pgc75B7WZ01zgkWlHVgdEGJ",
        type: "card",
        brand: "visa",
        last4: "4242",
        expMonth: 8,
        expYear: 2030,
      },
      // The sample invoice is a draft of another subscription, and cancel_at_period_end means no preview.
      schedules: [],
      syncedAt: "2024-01-01T00:00:00.000Z",
      warnings: [
        "item si_QXhVnC2h0Jczwc ends (2000-12-08T15:02:53.000Z) before it starts (2030-02-06T01:08:38.000Z)",
      ],
    });
  });

  it("the sample invoice, once paid for this subscription, becomes a paid schedule", () => {
    const paid: StripeInvoiceLike = {
      ...invoice,
      status: "paid",
      amount_paid: 1000,
      status_transitions: { ...invoice.status_transitions, paid_at: 1234567890 },
      parent: {
        type: "subscription_details",
        subscription_details: { subscription: subscription.id, metadata: null },
      },
    };
    const patch = buildSubscriptionPatch({ subscription, invoices: [paid], now });
    expect(patch.schedules).toEqual([
      {
        key: "invoice:in_1Pgc6tB7WZ01zgkWu9fdqL6I",
        stripeInvoiceId: "in_1Pgc6tB7WZ01zgkWu9fdqL6I",
        status: "paid",
        date: T,
        amount: 1000,
        amountDecimal: "10.00",
        amountWithoutTax: 1000,
        taxAmount: 0,
        currency: "USD",
        periodStart: "2024-07-26T00:34:14.000Z",
        periodEnd: "2024-07-26T00:34:14.000Z",
        description: "My First Invoice Item (created for API docs)",
      },
    ]);
    const record = applyPatch(emptySubscriptionRecord(), patch);
    expect(record.schedules.map((s) => [s.key, s.status])).toEqual([
      ["invoice:in_1Pgc6tB7WZ01zgkWu9fdqL6I", "paid"],
    ]);
    expect(applyPatch(record, patch)).toEqual(record);
  });

  it("yield related ids and keys for stripe.events.v1", () => {
    const obj = (o: unknown) => o as StripeEventObjectLike;
    expect(relatedStripeIds(obj(invoice))).toEqual({
      objectId: "in_1Pgc6tB7WZ01zgkWu9fdqL6I",
      objectType: "invoice",
      customerId: "cus_QXg1o8vcGmoR32",
      invoiceId: "in_1Pgc6tB7WZ01zgkWu9fdqL6I",
      subscriptionId: "subscription", // the sample's placeholder in parent.subscription_details
    });
    expect(stripeEventKey({ id: "evt_1", data: { object: obj(subscription) } })).toBe("cus_QXg1o8vcGmoR32");
    expect(stripeEventKey({ id: "evt_1", data: { object: obj(schedule) } })).toBe("cus_QXg1o8vcGmoR32");
    expect(stripeEventKey({ id: "evt_1", data: { object: obj(paymentMethod) } })).toBe("evt_1");
    expect(
      isLimioInitiated({
        data: { object: obj(paymentMethod) },
        request: { id: "req_1", idempotency_key: null },
      }).limioInitiated,
    ).toBe(false);
  });
});
