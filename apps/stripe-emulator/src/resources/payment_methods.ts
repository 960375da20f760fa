import type Stripe from "stripe";
import { testCardFor } from "../billing/cards.ts";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { cardError, invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { mergeMetadata, metadata, requireStr, str } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { idOf, type StoredPaymentMethod } from "../types.ts";

/** A new `pm_…` card object from a Stripe test id (`pm_card_visa`) or token (`tok_visa`). */
function paymentMethodFromTestId(
  call: Call,
  testId: string,
  param: string,
  clock: string | null,
): StoredPaymentMethod {
  const card = testCardFor(testId);
  if (!card) throw noSuch("PaymentMethod", testId, param);
  const { state } = call.emu;
  const pm: StoredPaymentMethod = {
    id: state.newId("pm"),
    object: "payment_method",
    allow_redisplay: "unspecified",
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
      tax_id: null,
    },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
      country: card.country,
      display_brand: card.brand === "amex" ? "american_express" : card.brand,
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: state.randomString(16),
      funding: card.funding,
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: "unregulated",
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: nowFor(call.emu, clock),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: "card",
    _card: {
      declineOnAttach: card.declineOnAttach,
      declineOnCharge: card.declineOnCharge,
      authentication: card.authentication,
    },
    _set_up: false,
  };
  state.insert("payment_method", pm);
  return pm;
}

/** Attach (test ids create a fresh `pm_…` first). Returns the attached object. */
export function attachPaymentMethod(
  call: Call,
  idOrTestId: string,
  customer: Stored<"customer">,
  param = "payment_method",
): StoredPaymentMethod {
  const { state } = call.emu;
  let pm = state.get("payment_method", idOrTestId);
  if (!pm) pm = paymentMethodFromTestId(call, idOrTestId, param, customer.test_clock ?? null);
  if (pm.customer && pm.customer !== customer.id) {
    throw invalid(
      "The payment method you provided has already been attached to a customer.",
      param,
      "payment_method_unexpected_state",
    );
  }
  if (pm.customer === customer.id) return pm;
  // "Declined payments" test cards "can't be attached to a Customer object" (docs.stripe.com/testing).
  const refusal = pm._card?.declineOnAttach;
  if (refusal) {
    throw cardError(refusal.message, refusal.code, refusal.declineCode, {
      param: param === "id" ? undefined : param,
    });
  }
  pm.customer = customer.id;
  pm._test_clock = customer.test_clock ?? null;
  call.emu.emit("payment_method.attached", pm, { request: call.request });
  return pm;
}

export function getPaymentMethod(call: Call, id: string, param = "id"): StoredPaymentMethod {
  const pm = call.emu.state.get("payment_method", id);
  if (pm) return pm;
  // Stripe resolves test ids on retrieve too (a fresh object each time).
  if (testCardFor(id)) return paymentMethodFromTestId(call, id, param, null);
  throw noSuch("PaymentMethod", id, param);
}

export const paymentMethodRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/payment_methods",
    handler: (call) => {
      const b = paramsOf<Stripe.PaymentMethodCreateParams>(call);
      const type = requireStr(b.type, "type");
      if (type !== "card") throw invalid(`The emulator supports only type=card (got ${type}).`, "type");
      const token = str(b.card && "token" in b.card ? b.card.token : undefined, "card[token]");
      if (!token)
        throw invalid(
          "Pass card[token] with a Stripe test token such as tok_visa (raw card numbers are not accepted).",
          "card",
        );
      const pm = paymentMethodFromTestId(call, token, "card[token]", null);
      pm.metadata = metadata(b.metadata);
      if (b.billing_details) Object.assign(pm.billing_details, b.billing_details);
      return pm;
    },
  },
  {
    method: "GET",
    path: "/v1/payment_methods/:id",
    handler: (call) => getPaymentMethod(call, call.params.id!),
  },
  {
    method: "POST",
    path: "/v1/payment_methods/:id",
    handler: (call) => {
      const pm = getPaymentMethod(call, call.params.id!);
      const before = call.emu.state.render(pm);
      const b = paramsOf<Stripe.PaymentMethodUpdateParams>(call);
      if ("metadata" in b) pm.metadata = mergeMetadata(pm.metadata ?? {}, b.metadata);
      if (b.billing_details) Object.assign(pm.billing_details, b.billing_details);
      if (pm.card && b.card?.exp_month) pm.card.exp_month = Number(b.card.exp_month);
      if (pm.card && b.card?.exp_year) pm.card.exp_year = Number(b.card.exp_year);
      call.emu.emit("payment_method.updated", pm, { request: call.request, previous: before });
      return pm;
    },
  },
  {
    method: "POST",
    path: "/v1/payment_methods/:id/attach",
    handler: (call) => {
      const customerId = requireStr(paramsOf<Stripe.PaymentMethodAttachParams>(call).customer, "customer");
      const customer = call.emu.state.get("customer", customerId);
      if (!customer || customer.deleted) throw noSuch("customer", customerId, "customer");
      return attachPaymentMethod(call, call.params.id!, customer, "id");
    },
  },
  {
    method: "POST",
    path: "/v1/payment_methods/:id/detach",
    handler: (call) => {
      const pm = getPaymentMethod(call, call.params.id!);
      if (!pm.customer) {
        throw invalid(
          "The payment method you provided is not attached to a customer so detachment is impossible.",
          undefined,
          "payment_method_unexpected_state",
        );
      }
      const before = call.emu.state.render(pm);
      const customer = call.emu.state.get("customer", idOf(pm.customer));
      if (customer && customer.invoice_settings.default_payment_method === pm.id)
        customer.invoice_settings.default_payment_method = null;
      pm.customer = null;
      call.emu.emit("payment_method.detached", pm, { request: call.request, previous: before });
      return pm;
    },
  },
  {
    method: "GET",
    path: "/v1/payment_methods",
    handler: (call) => {
      const b = paramsOf<Stripe.PaymentMethodListParams>(call);
      const customer = str(b.customer, "customer");
      const type = str(b.type, "type");
      const rows = call.emu.state
        .all("payment_method")
        .filter((pm) => (!customer || pm.customer === customer) && (!type || pm.type === type));
      return paginate(rows, b, "/v1/payment_methods", (o) => call.emu.state.render(o));
    },
  },
];
