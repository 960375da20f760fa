import { messageTypes, parseMessageData } from "@bridge/domain";
import type { MessageHandler } from "@bridge/messaging";
import { orderOutcomeMessageIds } from "@bridge/store";
import { completeChangePayment } from "../actions/change-payment.ts";
import { completeAwaitedPayment } from "../awaiting-payment.ts";
import type { WriterDeps } from "../context.ts";
import type { FinishOrder } from "../outcomes.ts";

/**
 * Events that may end an order waiting for its invoice's payment (decision 018): paid, or Stripe
 * or the customer gave up (authentication failed, invoice voided or uncollectible).
 */
const awaitedPaymentEvents = new Set([
  "invoice.paid",
  "invoice_payment.paid",
  "invoice.payment_succeeded",
  "invoice.voided",
  "invoice.marked_uncollectible",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
]);

/**
 * `stripe.event.received`: the writer only cares about `setup_intent.succeeded`, which finishes a
 * `change_payment` order waiting for its SetupIntent (actions/change-payment.ts), and the invoice
 * and PaymentIntent events that finish an order waiting for its payment (awaiting-payment.ts). Other events
 * are the sync-consumer's business, and so is this topic's poison handling: an envelope whose data
 * does not parse is left to it.
 */
export function stripeEventHandler(deps: WriterDeps, finish: FinishOrder): MessageHandler {
  return async (envelope, context) => {
    const parsed = parseMessageData(messageTypes.stripeEventReceived, 1, envelope.data);
    if (!parsed.ok) return;
    if (awaitedPaymentEvents.has(parsed.data.type)) {
      const { invoiceId, paymentIntentId } = parsed.data.related;
      const completed = await completeAwaitedPayment(deps, { invoiceId, paymentIntentId }, context.logger);
      if (completed) {
        await finish(envelope, completed.order, completed.result, completed.outcomeId, context.logger);
      }
      return;
    }
    if (parsed.data.type !== "setup_intent.succeeded") return;
    const setupIntentId = parsed.data.related.setupIntentId ?? parsed.data.object.id;
    if (!setupIntentId) return;
    const completed = await completeChangePayment(deps, setupIntentId, context.logger);
    if (!completed) return;
    await finish(
      envelope,
      completed.order,
      completed.result,
      orderOutcomeMessageIds(completed.order.orderId).setupSucceeded,
      context.logger,
    );
  };
}
