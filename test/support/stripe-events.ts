import { messageTypes, type StripeEventLike, stripeEventKey, stripeEventReceivedData } from "@bridge/domain";
import type Stripe from "stripe";
import type { Harness } from "../../apps/stripe-writer/test/harness.ts";

/**
 * The gateway's webhook route in short: every Stripe event of the emulator not in `forwarded`
 * yet is published on the stripe-events topic (same id and key as the gateway uses), each one
 * twice (at-least-once).
 */
export async function forwardNewStripeEvents(h: Harness, forwarded: Set<string>): Promise<void> {
  const events: Stripe.Event[] = [];
  for await (const event of h.stripe.events.list({ limit: 100 })) events.push(event);
  for (const event of events.reverse()) {
    if (forwarded.has(event.id)) continue;
    forwarded.add(event.id);
    const like = event as unknown as StripeEventLike;
    const envelope = {
      id: event.id,
      type: messageTypes.stripeEventReceived,
      version: 1,
      occurredAt: new Date(event.created * 1000).toISOString(),
      source: "stripe",
      correlationId: event.id,
      data: stripeEventReceivedData(like),
    };
    for (let copy = 0; copy < 2; copy++) {
      await h.publishEnvelope(stripeEventKey(like), envelope, h.topics.stripeEvents);
    }
  }
}
