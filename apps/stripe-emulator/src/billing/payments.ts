import type Stripe from "stripe";
import type { Emulator } from "../context.ts";
import { nowFor } from "../events/events.ts";
import type { Stored } from "../state.ts";
import type { RequestMeta } from "../types.ts";
import { chargeDecline, type Decline, needsAuthentication } from "./cards.ts";

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
    setupFutureUsage?: Stripe.PaymentIntent.SetupFutureUsage | null;
  },
  request: RequestMeta,
): Stored<"payment_intent"> & { client_secret: string } {
  const { state } = emu;
  const id = state.newId("pi");
  const pi: Stored<"payment_intent"> & { client_secret: string } = {
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

/** The card error a failed payment records (`last_payment_error`) and the API answers with. */
export type PaymentError = NonNullable<Stored<"payment_intent">["last_payment_error"]>;

/**
 * What a confirmation ended with. `requires_action`: the card asked for 3-D Secure and the customer
 * must authenticate (the test control `POST /_emulator/payment_intents/:id/authenticate` plays the
 * customer); `failed` carries Stripe's `last_payment_error`.
 */
export type ConfirmResult =
  | { status: "succeeded" }
  | { status: "requires_action" }
  | { status: "failed"; error: PaymentError };

export type ConfirmOptions = {
  /** `off_session: true`: the customer is not there to authenticate. */
  offSession?: boolean;
  /** `return_url` given on confirm: Stripe's next action is `redirect_to_url` (else `use_stripe_sdk`). */
  returnUrl?: string | null;
};

const AUTHENTICATION_REQUIRED: Decline = {
  code: "authentication_required",
  declineCode: "authentication_required",
  message: "Your card was declined. This transaction requires authentication.",
};

/**
 * Confirm a PaymentIntent with a payment method, as Stripe does for a test card
 * (docs.stripe.com/testing#authentication-and-setup, docs.stripe.com/payments/3d-secure):
 * - a card that needs authentication, on session: `requires_action` with a `next_action`;
 * - the same card off session: `authentication_required` (card_error), except for an invoice's
 *   PaymentIntent, which Billing leaves in `requires_action` so the customer can still authenticate
 *   (docs.stripe.com/billing/subscriptions/overview#requires-action);
 * - otherwise charged: succeeded, or declined with the card's decline.
 */
export function confirmPaymentIntent(
  emu: Emulator,
  pi: Stored<"payment_intent">,
  paymentMethodId: string,
  request: RequestMeta,
  options: ConfirmOptions = {},
): ConfirmResult {
  const pm = emu.state.get("payment_method", paymentMethodId);
  pi.payment_method = paymentMethodId;
  if (!pi._authenticated && needsAuthentication(pm?._card, pm?._set_up === true)) {
    if (options.offSession && !pi._invoice) {
      return failPaymentIntent(emu, pi, pm, AUTHENTICATION_REQUIRED, request, { charge: false });
    }
    const before = emu.state.render(pi);
    pi.status = "requires_action";
    pi.next_action = nextAction(pi, options.returnUrl ?? null);
    emu.emit("payment_intent.requires_action", pi, { request, previous: before });
    return { status: "requires_action" };
  }
  return chargePaymentIntent(emu, pi, pm, request);
}

/** The `next_action` Stripe returns for 3-D Secure (docs.stripe.com/api/payment_intents/object#payment_intent_object-next_action). */
function nextAction(pi: Stored<"payment_intent">, returnUrl: string | null): Stripe.PaymentIntent.NextAction {
  const url = `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${pi.id}`;
  if (returnUrl) return { type: "redirect_to_url", redirect_to_url: { return_url: returnUrl, url } };
  return {
    type: "use_stripe_sdk",
    use_stripe_sdk: { type: "three_d_secure_redirect", stripe_js: url, source: `src_${pi.id.slice(3)}` },
  };
}

/**
 * The customer's 3-D Secure answer (Stripe's test page offers "Complete" and "Fail"): a completed
 * authentication charges the card; a failed one leaves the PaymentIntent `requires_payment_method`
 * with `payment_intent_authentication_failure`.
 */
export function authenticatePaymentIntent(
  emu: Emulator,
  pi: Stored<"payment_intent">,
  outcome: "succeed" | "fail",
  request: RequestMeta,
): ConfirmResult {
  const pm = pi.payment_method ? emu.state.get("payment_method", pi.payment_method) : undefined;
  pi.next_action = null;
  if (outcome === "fail") {
    return failPaymentIntent(
      emu,
      pi,
      pm,
      {
        code: "payment_intent_authentication_failure",
        declineCode: "",
        message:
          "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
      },
      request,
      { charge: false },
    );
  }
  pi._authenticated = true;
  return chargePaymentIntent(emu, pi, pm, request);
}

function newCharge(
  emu: Emulator,
  pi: Stored<"payment_intent">,
  pm: Stored<"payment_method"> | undefined,
  decline: Decline | null,
): Stored<"charge"> {
  const charge: Stored<"charge"> = {
    id: emu.state.newId("ch"),
    object: "charge",
    amount: pi.amount,
    amount_captured: decline ? 0 : pi.amount,
    amount_refunded: 0,
    billing_details: pm?.billing_details ?? null,
    captured: !decline,
    created: nowFor(emu, pi._test_clock),
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    failure_code: decline?.code ?? null,
    failure_message: decline?.message ?? null,
    livemode: false,
    metadata: {},
    outcome: decline
      ? {
          network_status: "declined_by_network",
          reason: decline.declineCode,
          risk_level: "normal",
          seller_message: "The bank did not return any further details with this decline.",
          type: "issuer_declined",
        }
      : {
          network_status: "approved_by_network",
          reason: null,
          risk_level: "normal",
          seller_message: "Payment complete.",
          type: "authorized",
        },
    paid: !decline,
    payment_intent: pi.id,
    payment_method: pm?.id ?? pi.payment_method,
    refunded: false,
    status: decline ? "failed" : "succeeded",
    _test_clock: pi._test_clock ?? null,
  };
  emu.state.insert("charge", charge);
  pi.latest_charge = charge.id;
  return charge;
}

function chargePaymentIntent(
  emu: Emulator,
  pi: Stored<"payment_intent">,
  pm: Stored<"payment_method"> | undefined,
  request: RequestMeta,
): ConfirmResult {
  const decline = chargeDecline(pm?._card);
  if (decline) return failPaymentIntent(emu, pi, pm, decline, request, { charge: true });
  const before = emu.state.render(pi);
  const charge = newCharge(emu, pi, pm, null);
  pi.status = "succeeded";
  pi.amount_received = pi.amount;
  pi.last_payment_error = null;
  pi.next_action = null;
  // setup_future_usage: the method is saved to the customer once the payment succeeds, and counts
  // as set up (later off-session payments need no authentication).
  if (pm && pi.setup_future_usage) {
    pm._set_up = true;
    if (pi.customer && !pm.customer) {
      pm.customer = pi.customer;
      pm._test_clock = pi._test_clock ?? null;
      emu.emit("payment_method.attached", pm, { request });
    }
  }
  emu.emit("charge.succeeded", charge, { request });
  emu.emit("payment_intent.succeeded", pi, { request, previous: before });
  return { status: "succeeded" };
}

function failPaymentIntent(
  emu: Emulator,
  pi: Stored<"payment_intent">,
  pm: Stored<"payment_method"> | undefined,
  decline: Decline,
  request: RequestMeta,
  options: { charge: boolean },
): ConfirmResult {
  const before = emu.state.render(pi);
  const charge = options.charge ? newCharge(emu, pi, pm, decline) : null;
  const error: PaymentError = {
    type: "card_error",
    code: decline.code,
    ...(decline.declineCode ? { decline_code: decline.declineCode } : {}),
    message: decline.message,
    ...(charge ? { charge: charge.id } : {}),
    doc_url: `https://stripe.com/docs/error-codes/${decline.code.replaceAll("_", "-")}`,
    payment_method: pm ? emu.state.render(pm) : null,
  };
  pi.status = "requires_payment_method";
  pi.next_action = null;
  pi.last_payment_error = error;
  if (charge) emu.emit("charge.failed", charge, { request });
  emu.emit("payment_intent.payment_failed", pi, { request, previous: before });
  return { status: "failed", error };
}
