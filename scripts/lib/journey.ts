// The bridge's end-to-end journey: one subscription through every Limio commerce action, the
// Sync API, then a Stripe-side payment failure, checking after each step that the Limio
// subscription (gateway read API) agrees with Stripe (official SDK, against the emulator).
// Run by `npm run demo` (printing each step) and by test/e2e/journey.test.ts.
import { randomUUID } from "node:crypto";
import { createStripeClient, type Stripe } from "@bridge/stripe-client";
import { demoOffers, newOrderBody, shopCard } from "./shop.ts";

const offers = demoOffers;
const DAY = 86_400;

type LimioView = {
  id: string;
  status: string;
  stripeStatus: string | null;
  cancelAtTermEnd: boolean;
  termStart: string | null;
  termEnd: string | null;
  source: string;
  lastSyncedAt: string | null;
  offer: { id: string; name: string } | null;
  stripe: { customerId: string | null; subscriptionId: string | null; scheduleId: string | null };
  paymentSchedules: { status: string; amount: number; currency: string; dueDate: string | null }[];
  paymentMethod: {
    brand: string | null;
    last4: string | null;
    expMonth: number | null;
    expYear: number | null;
  } | null;
  events: { type: string; source: string }[];
};

/** `journey` steps act on the subscription the first step creates: skipped once one fails. */
type Step = { name: string; journey: boolean; run: () => Promise<void> };
export type StepResult = { name: string; ok: boolean | "skipped"; detail: string };

export type JourneyTarget = { gatewayUrl: string; stripeApiUrl: string; apiKey: string };

/** Runs every step, printing to `write` (silent when omitted); never throws for a failed step. */
export async function runJourney(
  target: JourneyTarget,
  write: (text: string) => void = () => {},
): Promise<StepResult[]> {
  const { gatewayUrl, stripeApiUrl, apiKey } = target;
  const results: StepResult[] = [];
  const show = (v: LimioView, sub: Stripe.Subscription) => write(table(v, sub));
  const { stripe } = createStripeClient({
    secretKey: "sk_test_demo",
    apiUrl: stripeApiUrl,
    ratePerSecond: 1000,
  });
  const run = randomUUID().slice(0, 8);

  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${gatewayUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 400)
      throw new Error(`${method} ${url} → ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const limio = async (id: string) => (await api("GET", `/api/subscriptions/${id}`)) as unknown as LimioView;
  const order = async (body: Record<string, unknown>) =>
    api("POST", "/api/orders", {
      source: "shop",
      process_immediately: true,
      external_id: `demo-${run}-${randomUUID()}`,
      ...body,
    });

  /** Wait until the Limio subscription satisfies `check` (the sync runs asynchronously). */
  const until = async (id: string, what: string, check: (v: LimioView) => boolean, timeoutMs = 45_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: LimioView | undefined;
    while (Date.now() < deadline) {
      last = await limio(id).catch(() => undefined);
      if (last && check(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`Limio subscription never showed ${what}; last seen: ${JSON.stringify(summarise(last))}`);
  };

  const advance = async (clockId: string, to: number) => {
    await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
    for (let i = 0; i < 200; i += 1) {
      if ((await stripe.testHelpers.testClocks.retrieve(clockId)).status === "ready") return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("the test clock did not finish advancing");
  };

  /** A shop customer who already exists in Stripe, on a test clock so the demo can move time. */
  const customerOnClock = async (label: string) => {
    const now = Math.floor(Date.now() / 1000);
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: now, name: `demo ${label}` });
    const email = `demo.${label}.${run}@example.com`;
    await stripe.customers.create({ email, name: "Ada Lovelace", test_clock: clock.id });
    return { clock, email, now };
  };

  const card = (token: string) => shopCard(stripe, token);
  const newOrder = (email: string, paymentMethod: string) => newOrderBody(email, paymentMethod);

  const main = await customerOnClock("journey");
  let subscriptionId = "";
  let stripeSubscriptionId = "";
  let periodEnd = 0;

  const steps: Step[] = [
    {
      name: "New order (Order Submitted): customer matched by email, price, subscription, first payment",
      journey: true,
      run: async () => {
        const answer = await order(newOrder(main.email, await card("tok_visa")));
        expectApplied(answer);
        subscriptionId = String(answer.subscriptionId);
        const v = await until(
          subscriptionId,
          "active with a card",
          (s) => s.status === "active" && s.paymentMethod !== null,
        );
        stripeSubscriptionId = v.stripe.subscriptionId!;
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        periodEnd = sub.items.data[0]!.current_period_end;
        expect(sub.status === "active", `Stripe status ${sub.status}`);
        expect(
          sub.items.data[0]!.price.unit_amount === offers.digitalMonthly.amount,
          "Stripe bills Digital Monthly",
        );
        expect(
          (sub.customer as Stripe.Customer).email === main.email,
          "the existing Stripe customer was reused",
        );
        expect(v.offer?.name === offers.digitalMonthly.name, `Limio offer ${v.offer?.name}`);
        expect(
          v.paymentSchedules.some((p) => p.status === "paid"),
          "Limio has the paid first invoice",
        );
        show(v, sub);
      },
    },
    {
      name: "Upgrade half-way through the period (Order Switch, higher value): unused half credited, full new price charged now, new period from today",
      journey: true,
      run: async () => {
        const before = await stripeSub(stripe, stripeSubscriptionId);
        const old = before.items.data[0]!;
        // The customer has used half of the month they paid for when they upgrade.
        const mid = old.current_period_start + (old.current_period_end - old.current_period_start) / 2;
        await advance(main.clock.id, mid);
        const answer = await order({
          order_type: "change_offer",
          subscriptionId,
          offer: { id: offers.printDigital.id },
        });
        expectApplied(answer);
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        // The upgrade's invoice is the subscription's latest: stamping the offer afterwards invoices nothing.
        const invoice = await stripe.invoices.retrieve(latestInvoiceId(sub));
        const amounts = upgradeAmounts(invoice);
        // The seed: credited for the prorated unused portion of the previous price (half of
        // 9.99, rounded half away from zero as Stripe rounds), charged the full new price.
        const credit = -Math.round(
          (offers.digitalMonthly.amount * (old.current_period_end - mid)) /
            (old.current_period_end - old.current_period_start),
        );
        expect(amounts.credit === credit, `credit ${amounts.credit}, expected ${credit}`);
        expect(
          amounts.charge === offers.printDigital.amount,
          `charged ${amounts.charge}, expected the full ${offers.printDigital.amount}`,
        );
        const due = offers.printDigital.amount + credit;
        expect(
          invoice.status === "paid" && invoice.amount_paid === due,
          `invoice ${invoice.status}, paid ${invoice.amount_paid}, expected ${due}`,
        );
        const item = sub.items.data[0]!;
        expect(item.price.unit_amount === offers.printDigital.amount, "Stripe bills Print + Digital now");
        expect(item.current_period_start === mid, "the new billing period starts at the upgrade");
        write(
          `  amounts: credit ${money(credit, invoice.currency)} (unused half of ${money(offers.digitalMonthly.amount, invoice.currency)}), ` +
            `new price ${money(amounts.charge, invoice.currency)} charged now, paid ${money(invoice.amount_paid, invoice.currency)}\n`,
        );
        const v = await until(
          subscriptionId,
          "the Print + Digital offer with the upgrade's payment",
          (s) =>
            s.offer?.id === offers.printDigital.id &&
            s.paymentSchedules.some((p) => p.status === "paid" && p.amount === due),
        );
        expect(
          v.termStart !== null && Date.parse(v.termStart) === mid * 1000,
          `Limio's term restarts with the new billing period (${v.termStart})`,
        );
        periodEnd = item.current_period_end;
        show(v, sub);
      },
    },
    {
      name: "Downgrade (Order Switch, lower value): scheduled for the period end, no charge today",
      journey: true,
      run: async () => {
        const answer = await order({
          order_type: "change_offer",
          subscriptionId,
          offer: { id: offers.digitalMonthly.id },
        });
        expectApplied(answer);
        const v = await until(subscriptionId, "a Stripe schedule", (s) => s.stripe.scheduleId !== null);
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        expect(
          sub.items.data[0]!.price.unit_amount === offers.printDigital.amount,
          "still Print + Digital until the period end",
        );
        expect(v.offer?.id === offers.printDigital.id, "Limio keeps the current offer until the switch");
        show(v, sub);
      },
    },
    {
      name: "Time passes (test clock past the period end): the downgrade takes effect at renewal",
      journey: true,
      run: async () => {
        await advance(main.clock.id, periodEnd + DAY);
        const v = await until(
          subscriptionId,
          "the Digital Monthly offer after renewal",
          (s) => s.offer?.id === offers.digitalMonthly.id,
        );
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        expect(
          sub.items.data[0]!.price.unit_amount === offers.digitalMonthly.amount,
          "Stripe bills Digital Monthly",
        );
        expect(
          v.termStart !== null && Date.parse(v.termStart) >= periodEnd * 1000,
          "Limio's term moved to the new period",
        );
        periodEnd = sub.items.data[0]!.current_period_end;
        show(v, sub);
      },
    },
    {
      name: "Change address (type all): Stripe billing address and shipping updated",
      journey: true,
      run: async () => {
        const answer = await order({
          order_type: "change_address",
          subscriptionId,
          type: "all",
          billingDetails: {
            firstName: "Ada",
            lastName: "King",
            email: main.email,
            address1: "1 Ockham Park",
            city: "Surrey",
            postalCode: "GU23 6NE",
            country: "GB",
          },
          deliveryDetails: {
            firstName: "Ada",
            lastName: "King",
            address1: "1 Ockham Park",
            city: "Surrey",
            postalCode: "GU23 6NE",
            country: "GB",
          },
        });
        expectApplied(answer);
        const v = await limio(subscriptionId);
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        const customer = sub.customer as Stripe.Customer;
        expect(customer.address?.line1 === "1 Ockham Park", `Stripe address ${customer.address?.line1}`);
        expect(customer.shipping?.address?.line1 === "1 Ockham Park", "Stripe shipping address updated");
        show(v, sub);
      },
    },
    {
      name: "Change payment method: the new card is the default on the customer and the subscription",
      journey: true,
      run: async () => {
        const answer = await order({
          order_type: "change_payment",
          subscriptionId,
          payment: {
            type: "stripe",
            stripe: { result: { paymentMethod: await card("tok_mastercard") } },
          },
        });
        expectApplied(answer);
        const v = await until(
          subscriptionId,
          "the Mastercard",
          (s) => s.paymentMethod?.brand === "mastercard",
        );
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        expect(
          (sub.default_payment_method as Stripe.PaymentMethod | null)?.card?.brand === "mastercard",
          "Stripe default is the Mastercard",
        );
        show(v, sub);
      },
    },
    {
      name: "Sync API (Limio's POST /api/plugins/stripe/sync/subscription/{id}): answers once the sync is applied",
      journey: true,
      run: async () => {
        const answer = await api("POST", `/api/plugins/stripe/sync/subscription/${subscriptionId}`);
        expect(
          answer.success === true && answer.id === subscriptionId,
          `Sync API answered ${JSON.stringify(answer)}`,
        );
        const v = await limio(subscriptionId);
        expect(v.lastSyncedAt !== null, "Limio records when it last synced");
        show(v, await stripeSub(stripe, stripeSubscriptionId));
      },
    },
    {
      name: "Cancel (Order Cancel): cancels at the end of the current period",
      journey: true,
      run: async () => {
        const answer = await order({ order_type: "cancel_subscription", subscriptionId, reason: "demo" });
        expectApplied(answer);
        const v = await until(subscriptionId, "cancel at term end", (s) => s.cancelAtTermEnd);
        const sub = await stripeSub(stripe, stripeSubscriptionId);
        expect(sub.cancel_at_period_end, "Stripe cancels at period end");
        expect(v.status === "active", "still active until the term ends");
        show(v, sub);
      },
    },
    {
      name: "Stripe-side: the card starts declining; renewal fails, retries fail, Stripe cancels; Limio follows",
      journey: false,
      run: async () => {
        const other = await customerOnClock("dunning");
        const answer = await order(newOrder(other.email, await card("tok_visa")));
        expectApplied(answer);
        const id = String(answer.subscriptionId);
        let v = await until(id, "active", (s) => s.status === "active" && s.stripe.subscriptionId !== null);
        const stripeId = v.stripe.subscriptionId!;
        // In Stripe, not through Limio: the customer's card is replaced by one that will decline.
        const customerId = v.stripe.customerId!;
        const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
          customer: customerId,
        });
        await stripe.customers.update(customerId, {
          invoice_settings: { default_payment_method: failing.id },
        });
        await stripe.subscriptions.update(stripeId, { default_payment_method: failing.id });
        const end = (await stripeSub(stripe, stripeId)).items.data[0]!.current_period_end;
        await advance(other.clock.id, end + 30 * DAY);
        v = await until(id, "cancelled by Stripe", (s) => s.status === "cancelled");
        const sub = await stripeSub(stripe, stripeId);
        expect(sub.status === "canceled", `Stripe status ${sub.status}`);
        expect(v.source === "stripe", `Limio records the change as made by ${v.source}`);
        expect(
          v.paymentSchedules.some((p) => p.status === "failed"),
          "the failed renewal is in Limio's payment schedules",
        );
        show(v, sub);
      },
    },
    {
      name: "Discounted order (orderDiscount 50% for 3 months): 4.99 billed three times, then the full 9.99",
      journey: false,
      run: async () => {
        const shopper = await customerOnClock("discount");
        const price = offers.digitalMonthly.amount;
        // Stripe takes 50% of 9.99 = 4.995 off, rounded half away from zero: 5.00 off, 4.99 due.
        const off = Math.round(price / 2);
        const answer = await order({
          ...newOrder(shopper.email, await card("tok_visa")),
          orderDiscount: {
            name: "Half price for 3 months",
            discountOverrides: {
              discountType: "percentage",
              percentageDiscount: 50,
              durationType: "billing_periods",
              durationLength: 3,
            },
          },
          total: { amount: ((price - off) / 100).toFixed(2), currency: "GBP" },
        });
        expectApplied(answer);
        const id = String(answer.subscriptionId);
        let v = await until(id, "active", (s) => s.status === "active" && s.stripe.subscriptionId !== null);
        const stripeId = v.stripe.subscriptionId!;
        // Three monthly renewals (Stripe moves a test clock at most two billing periods at once).
        for (let month = 1; month <= 3; month += 1) {
          const end = (await stripeSub(stripe, stripeId)).items.data[0]!.current_period_end;
          await advance(shopper.clock.id, end + DAY);
        }
        const invoices = (await stripe.invoices.list({ subscription: stripeId, limit: 10 })).data.sort(
          (a, b) => a.created - b.created,
        );
        const billed = invoices.map((i) => i.amount_paid);
        const expected = [price - off, price - off, price - off, price];
        expect(
          JSON.stringify(billed) === JSON.stringify(expected),
          `Stripe billed ${billed.join(", ")}, expected ${expected.join(", ")}`,
        );
        expect(
          invoices.every((i) => i.status === "paid"),
          `invoice statuses ${invoices.map((i) => i.status).join(", ")}`,
        );
        const paidInLimio = (s: LimioView) =>
          s.paymentSchedules
            .filter((p) => p.status === "paid")
            .sort((a, b) => (a.dueDate ?? "").localeCompare(b.dueDate ?? ""))
            .map((p) => p.amount);
        // Digital Monthly's term is one month: once synced, Limio's term is Stripe's current period.
        const period = (await stripeSub(stripe, stripeId)).items.data[0]!;
        v = await until(
          id,
          "the four payments and the current month's term",
          (s) =>
            JSON.stringify(paidInLimio(s)) === JSON.stringify(expected) &&
            s.termStart !== null &&
            Date.parse(s.termStart) === period.current_period_start * 1000 &&
            s.termEnd !== null &&
            Date.parse(s.termEnd) === period.current_period_end * 1000,
        );
        write(
          `  amounts: ${money(price, "gbp")} − ${money(off, "gbp")} (50% off) = ${money(price - off, "gbp")} for 3 months, then ${money(price, "gbp")}; ` +
            `Stripe billed ${billed.map((a) => money(a, "gbp")).join(", ")}\n`,
        );
        show(v, await stripeSub(stripe, stripeId));
      },
    },
  ];

  let journeyBroken = false;
  for (const step of steps) {
    write(`\n▶ ${step.name}\n`);
    if (step.journey && journeyBroken) {
      results.push({ name: step.name, ok: "skipped", detail: "an earlier step of the journey failed" });
      write("  – skipped: an earlier step of the journey failed\n");
      continue;
    }
    try {
      await step.run();
      results.push({ name: step.name, ok: true, detail: "" });
    } catch (error) {
      if (step.journey) journeyBroken = true;
      results.push({ name: step.name, ok: false, detail: (error as Error).message });
      write(`  ✗ ${(error as Error).message}\n`);
    }
  }

  return results;
}

const latestInvoiceId = (sub: Stripe.Subscription) =>
  typeof sub.latest_invoice === "string" ? sub.latest_invoice : (sub.latest_invoice?.id ?? "");

/** An upgrade invoice's two parts: the credit for unused time (negative lines) and what is charged. */
function upgradeAmounts(invoice: Stripe.Invoice) {
  const lines = invoice.lines.data.map((l) => l.amount);
  return {
    credit: lines.filter((a) => a < 0).reduce((a, b) => a + b, 0),
    charge: lines.filter((a) => a > 0).reduce((a, b) => a + b, 0),
  };
}

function expectApplied(answer: Record<string, unknown>) {
  expect(answer.status === "applied", `order ${answer.status}: ${JSON.stringify(answer)}`);
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function stripeSub(stripe: Stripe, id: string) {
  return stripe.subscriptions.retrieve(id, {
    expand: ["customer", "default_payment_method", "items.data.price", "schedule"],
  });
}

function summarise(v: LimioView | undefined) {
  if (!v) return undefined;
  return {
    status: v.status,
    stripeStatus: v.stripeStatus,
    offer: v.offer?.name,
    cancelAtTermEnd: v.cancelAtTermEnd,
    paymentMethod: v.paymentMethod?.brand,
  };
}

const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : "—");
const dayOf = (unix: number | null | undefined) =>
  unix ? new Date(unix * 1000).toISOString().slice(0, 10) : "—";
const money = (minor: number | null | undefined, currency: string) =>
  minor == null ? "—" : `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;

/** The Limio subscription and the Stripe subscription, side by side. */
function table(v: LimioView, sub: Stripe.Subscription): string {
  const item = sub.items.data[0]!;
  const pm = sub.default_payment_method as Stripe.PaymentMethod | null;
  const schedule = sub.schedule as Stripe.SubscriptionSchedule | null;
  const customer = sub.customer as Stripe.Customer;
  const counts = (status: string) => v.paymentSchedules.filter((p) => p.status === status).length;
  const rows: [string, string, string][] = [
    ["status", `${v.status} (Stripe: ${v.stripeStatus ?? "—"})`, sub.status],
    [
      "offer / price",
      v.offer?.name ?? "—",
      `${money(item.price.unit_amount, item.price.currency)} / ${item.price.recurring?.interval ?? "once"}`,
    ],
    [
      "term",
      `${day(v.termStart)} → ${day(v.termEnd)}`,
      `${dayOf(item.current_period_start)} → ${dayOf(item.current_period_end)}`,
    ],
    ["cancel at term end", String(v.cancelAtTermEnd), String(sub.cancel_at_period_end)],
    [
      "pending switch",
      v.stripe.scheduleId ?? "—",
      schedule ? `${schedule.id} (${schedule.phases.length} phases)` : "—",
    ],
    [
      "payment method",
      v.paymentMethod ? `${v.paymentMethod.brand} •••• ${v.paymentMethod.last4}` : "—",
      pm?.card ? `${pm.card.brand} •••• ${pm.card.last4}` : "—",
    ],
    [
      "payment schedules",
      `paid ${counts("paid")}, scheduled ${counts("scheduled")}, failed ${counts("failed")}`,
      "",
    ],
    [
      "billing address",
      "(Limio's own record)",
      customer.address?.line1 ? `${customer.address.line1}, ${customer.address.city}` : "—",
    ],
    ["last changed by", v.source, ""],
  ];
  const width = [20, 44, 44];
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => c.padEnd(width[i]!).slice(0, width[i]!)).join(" │ ")}\n`;
  return [
    line(["", `Limio ${v.id.slice(0, 16)}…`, `Stripe ${sub.id}`]),
    `  ${"─".repeat(width.reduce((a, b) => a + b + 3, -3))}\n`,
    ...rows.map(line),
  ].join("");
}
