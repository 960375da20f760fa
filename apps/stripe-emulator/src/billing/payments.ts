import type { Emulator } from "../context.ts";
import { nowFor } from "../events/events.ts";
import type { RequestMeta, StripeObject } from "../types.ts";
import { chargeOutcome } from "./cards.ts";
import { onInvoicePaymentIntentSucceeded } from "./invoices.ts";

export function newPaymentIntent(
  emu: Emulator,
  params: {
    amount: number;
    currency: string;
    customer: string | null;
    paymentMethod?: string | null;
    description?: string | null;
    metadata?: Record<string, string>;
    invoice?: string;
    clock?: string | null;
    setupFutureUsage?: string | null;
  },
  request: RequestMeta,
): StripeObject {
  const { state } = emu;
  const id = state.newId("pi");
  const pi: StripeObject = {
    id,
    object: "payment_intent",
    amount: params.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: params.invoice ? null : { allow_redirects: "always", enabled: true },
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic",
    client_secret: `${id}_secret_${state.randomString(25)}`,
    confirmation_method: "automatic",
    created: nowFor(emu, params.clock),
    currency: params.currency,
    customer: params.customer,
    customer_account: null,
    description: params.description ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: params.metadata ?? {},
    next_action: null,
    on_behalf_of: null,
    payment_method: params.paymentMethod ?? null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: ["card"],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: params.setupFutureUsage ?? null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: params.paymentMethod ? "requires_confirmation" : "requires_payment_method",
    transfer_data: null,
    transfer_group: null,
    _invoice: params.invoice ?? null,
    _test_clock: params.clock ?? null,
  };
  state.insert("payment_intent", pi);
  emu.emit("payment_intent.created", pi, { request });
  return pi;
}

export type ConfirmResult = { ok: true } | { ok: false; error: StripeObject };

/** Charge the PaymentIntent with a payment method; emits payment_intent/charge events. */
export function confirmPaymentIntent(
  emu: Emulator,
  pi: StripeObject,
  paymentMethodId: string,
  request: RequestMeta,
): ConfirmResult {
  const { state } = emu;
  const pm = state.get("payment_method", paymentMethodId);
  const before = state.render(pi);
  pi.payment_method = paymentMethodId;
  const outcome = chargeOutcome(pm?._behavior ?? "succeed");
  const chargeId = state.newId("ch");
  const created = nowFor(emu, pi._test_clock);
  const charge: StripeObject = {
    id: chargeId,
    object: "charge",
    amount: pi.amount,
    amount_captured: outcome.ok ? pi.amount : 0,
    amount_refunded: 0,
    billing_details: pm?.billing_details ?? null,
    captured: outcome.ok,
    created,
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    failure_code: outcome.ok ? null : outcome.code,
    failure_message: outcome.ok ? null : outcome.message,
    livemode: false,
    metadata: {},
    outcome: outcome.ok
      ? {
          network_status: "approved_by_network",
          reason: null,
          risk_level: "normal",
          seller_message: "Payment complete.",
          type: "authorized",
        }
      : {
          network_status: "declined_by_network",
          reason: outcome.declineCode,
          risk_level: "normal",
          seller_message: "The bank did not return any further details with this decline.",
          type: "issuer_declined",
        },
    paid: outcome.ok,
    payment_intent: pi.id,
    payment_method: paymentMethodId,
    refunded: false,
    status: outcome.ok ? "succeeded" : "failed",
    _test_clock: pi._test_clock ?? null,
  };
  state.insert("charge", charge);
  pi.latest_charge = chargeId;
  if (outcome.ok) {
    pi.status = "succeeded";
    pi.amount_received = pi.amount;
    pi.last_payment_error = null;
    emu.emit("charge.succeeded", charge, { request });
    emu.emit("payment_intent.succeeded", pi, { request, previous: before });
    if (pi._invoice) onInvoicePaymentIntentSucceeded(emu, pi, request);
    return { ok: true };
  }
  const error: StripeObject = {
    type: "card_error",
    code: outcome.code,
    decline_code: outcome.declineCode,
    message: outcome.message,
    charge: chargeId,
    doc_url: "https://stripe.com/docs/error-codes/card-declined",
    payment_method: pm ? state.render(pm) : null,
  };
  pi.status = "requires_payment_method";
  pi.last_payment_error = error;
  emu.emit("charge.failed", charge, { request });
  emu.emit("payment_intent.payment_failed", pi, { request, previous: before });
  return { ok: false, error };
}
