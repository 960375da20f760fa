import type Stripe from "stripe";
import { settleInvoicePayment } from "../billing/invoices.ts";
import {
  authenticatePaymentIntent,
  type ConfirmResult,
  confirmPaymentIntent,
  newPaymentIntent,
} from "../billing/payments.ts";
import { type Call, type Emulator, paramsOf, type Route } from "../context.ts";
import { cardError, invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { bool, int, mergeMetadata, metadata, requireStr, str } from "../http/params.ts";
import type { AnyStored, Stored } from "../state.ts";
import type { JsonObject } from "../types.ts";
import { getPaymentMethod } from "./payment_methods.ts";

function getPaymentIntent(call: Call, id: string): Stored<"payment_intent"> {
  const pi = call.emu.state.get("payment_intent", id);
  if (!pi) throw noSuch("payment_intent", id);
  return pi;
}

function confirm(
  call: Call,
  pi: Stored<"payment_intent">,
  pmParam: string | undefined,
): Stored<"payment_intent"> {
  if (pi.status === "succeeded" || pi.status === "canceled") {
    throw invalid(
      `This PaymentIntent's status is ${pi.status}, so it cannot be confirmed.`,
      undefined,
      "payment_intent_unexpected_state",
    );
  }
  let pmId = pmParam ?? pi.payment_method;
  if (!pmId) {
    throw invalid(
      "You cannot confirm this PaymentIntent because it's missing a payment method.",
      "payment_method",
      "payment_intent_unexpected_state",
    );
  }
  pmId = getPaymentMethod(call, pmId, "payment_method").id;
  const b = paramsOf<Stripe.PaymentIntentConfirmParams>(call);
  const result = confirmPaymentIntent(call.emu, pi, pmId, call.request, {
    offSession: bool(b.off_session, "off_session") ?? false,
    returnUrl: str(b.return_url, "return_url") ?? null,
  });
  return answer(call.emu, pi, result, call.request);
}

/** The invoice follows its PaymentIntent; a failed payment is a 402 carrying the PaymentIntent, as on Stripe. */
function answer(
  emu: Emulator,
  pi: Stored<"payment_intent">,
  result: ConfirmResult,
  request: Call["request"],
): Stored<"payment_intent"> {
  const invoice = pi._invoice ? emu.state.get("invoice", pi._invoice) : undefined;
  if (invoice) settleInvoicePayment(emu, invoice, pi, result, request);
  if (result.status !== "failed") return pi;
  const e = result.error;
  throw cardError(e.message, e.code, e.decline_code, {
    ...(e.charge ? { charge: e.charge } : {}),
    payment_intent: emu.state.render(pi),
    payment_method: e.payment_method,
  });
}

/**
 * Test control standing in for the customer on Stripe's 3-D Secure test page: completes
 * (`succeed`) or fails (`fail`) the authentication of a PaymentIntent in `requires_action`, with
 * the events Stripe sends then. Served at `POST /_emulator/payment_intents/:id/authenticate`.
 */
export function authenticatePaymentIntentByCustomer(
  emu: Emulator,
  intent: AnyStored,
  outcome: "succeed" | "fail",
): JsonObject {
  // The control found `intent` by id; read it back as the PaymentIntent it is.
  const pi = emu.state.get("payment_intent", intent.id);
  if (!pi) throw noSuch("payment_intent", intent.id);
  const request = { id: null, idempotency_key: null };
  const result = authenticatePaymentIntent(emu, pi, outcome, request);
  const invoice = pi._invoice ? emu.state.get("invoice", pi._invoice) : undefined;
  if (invoice) settleInvoicePayment(emu, invoice, pi, result, request);
  return emu.state.render(pi);
}

export const paymentIntentRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/payment_intents",
    handler: (call) => {
      const b = paramsOf<Stripe.PaymentIntentCreateParams>(call);
      const amount = int(b.amount, "amount");
      if (amount === undefined)
        throw invalid("Missing required param: amount.", "amount", "parameter_missing");
      if (amount < 50) throw invalid("Amount must be at least $0.50 usd", "amount", "amount_too_small");
      const customerId = str(b.customer, "customer") ?? null;
      const customer = customerId ? call.emu.state.get("customer", customerId) : undefined;
      if (customerId && !customer) throw noSuch("customer", customerId, "customer");
      const pi = newPaymentIntent(
        call.emu,
        {
          amount,
          currency: requireStr(b.currency, "currency").toLowerCase(),
          customer: customerId,
          description: str(b.description, "description") ?? null,
          metadata: metadata(b.metadata),
          clock: customer?.test_clock ?? null,
          setupFutureUsage: str(b.setup_future_usage, "setup_future_usage") ?? null,
        },
        call.request,
      );
      const pmId = str(b.payment_method, "payment_method");
      if (pmId) {
        pi.payment_method = pmId;
        pi.status = "requires_confirmation";
      }
      if (bool(b.confirm, "confirm")) return confirm(call, pi, pmId);
      return pi;
    },
  },
  {
    method: "GET",
    path: "/v1/payment_intents/:id",
    handler: (call) => getPaymentIntent(call, call.params.id!),
  },
  {
    method: "POST",
    path: "/v1/payment_intents/:id",
    handler: (call) => {
      const pi = getPaymentIntent(call, call.params.id!);
      const b = paramsOf<Stripe.PaymentIntentUpdateParams>(call);
      if ("metadata" in b) pi.metadata = mergeMetadata(pi.metadata, b.metadata);
      if (b.description !== undefined) pi.description = b.description || null;
      const pmId = str(b.payment_method, "payment_method");
      if (pmId && pi.status !== "succeeded") {
        pi.payment_method = pmId;
        pi.status = "requires_confirmation";
      }
      return pi;
    },
  },
  {
    method: "POST",
    path: "/v1/payment_intents/:id/confirm",
    handler: (call) =>
      confirm(
        call,
        getPaymentIntent(call, call.params.id!),
        str(paramsOf<Stripe.PaymentIntentConfirmParams>(call).payment_method, "payment_method"),
      ),
  },
  {
    method: "POST",
    path: "/v1/payment_intents/:id/cancel",
    handler: (call) => {
      const pi = getPaymentIntent(call, call.params.id!);
      if (pi.status === "succeeded")
        throw invalid(
          "You cannot cancel this PaymentIntent because it has a status of succeeded.",
          undefined,
          "payment_intent_unexpected_state",
        );
      pi.status = "canceled";
      pi.canceled_at = Math.floor(Date.now() / 1000);
      pi.cancellation_reason =
        paramsOf<Stripe.PaymentIntentCancelParams>(call).cancellation_reason ?? "requested_by_customer";
      call.emu.emit("payment_intent.canceled", pi, { request: call.request });
      return pi;
    },
  },
  {
    method: "GET",
    path: "/v1/payment_intents",
    handler: (call) => {
      const b = paramsOf<Stripe.PaymentIntentListParams>(call);
      const customer = str(b.customer, "customer");
      const rows = call.emu.state.all("payment_intent").filter((p) => !customer || p.customer === customer);
      return paginate(rows, b, "/v1/payment_intents", (o) => call.emu.state.render(o));
    },
  },
];
