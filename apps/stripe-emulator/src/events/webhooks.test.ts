import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "@bridge/observability";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { signPayload, WebhookDispatcher } from "./webhooks.ts";

const stripe = new Stripe("sk_test_signing");

describe("webhook signatures", () => {
  it("are exactly Stripe's: the SDK's own test header matches, constructEvent accepts", () => {
    const payload = JSON.stringify({ id: "evt_1", object: "event", type: "customer.created" });
    const secret = "whsec_test_secret";
    const timestamp = 1_795_000_000;
    const ours = signPayload(payload, secret, timestamp);
    expect(ours).toBe(stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }));
    const now = signPayload(payload, secret);
    expect(stripe.webhooks.constructEvent(payload, now, secret).id).toBe("evt_1");
  });

  it("fail verification with another secret or a changed body", () => {
    const payload = JSON.stringify({ id: "evt_2", object: "event" });
    const header = signPayload(payload, "whsec_right");
    expect(() => stripe.webhooks.constructEvent(payload, header, "whsec_wrong")).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() =>
      stripe.webhooks.constructEvent(payload.replace("evt_2", "evt_3"), header, "whsec_right"),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });
});

type Held = { eventId: string; release: (status: number) => void };

/** A receiver that holds every request until the test releases it. */
async function holdingReceiver() {
  const held: Held[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let arrived: (() => void) | undefined;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      held.push({
        eventId: (JSON.parse(body) as { id: string }).id,
        release: (status) => {
          inFlight--;
          res.writeHead(status).end();
        },
      });
      arrived?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    held,
    maxInFlight: () => maxInFlight,
    /** Resolves once `n` requests have arrived in total. */
    async arrivals(n: number) {
      while (held.length < n) await new Promise<void>((resolve) => (arrived = resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const silent = createLogger("webhooks-test", { level: "silent" });
const endpointAt = (url: string) => ({ id: "we_1", url, status: "enabled", _secret: "whsec_x" });

describe("webhook delivery concurrency", () => {
  it("keeps at most `concurrency` first attempts in flight per endpoint and delivers every event once", async () => {
    const receiver = await holdingReceiver();
    const delivered: string[] = [];
    const dispatcher = new WebhookDispatcher({
      maxAttempts: 3,
      backoffMs: 5,
      logger: silent,
      concurrency: 4,
      onDelivered: (id) => delivered.push(id),
    });
    const ids = Array.from({ length: 10 }, (_, i) => `evt_${i}`);
    for (const id of ids) dispatcher.enqueue(endpointAt(receiver.url), { id, object: "event" });
    await receiver.arrivals(4);
    // The first four started; the fifth waits for a free slot.
    expect(receiver.held.map((h) => h.eventId).sort()).toEqual(ids.slice(0, 4).sort());
    let answered = 0;
    while (answered < ids.length) {
      await receiver.arrivals(answered + 1);
      // Newest first: completions out of order still free their slots.
      for (const h of receiver.held.slice(answered).reverse()) h.release(200);
      answered = receiver.held.length;
    }
    await dispatcher.flush();
    expect(receiver.maxInFlight()).toBe(4);
    expect([...delivered].sort()).toEqual([...ids].sort());
    expect(dispatcher.deliveries.every((d) => d.delivered && d.attempts === 1)).toBe(true);
    await receiver.close();
  });
});
