import type Stripe from "stripe";
import { setupNeedsAuthentication } from "../billing/cards.ts";
import { type Call, type Emulator, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { cardError, invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { bool, mergeMetadata, metadata, oneOf, str } from "../http/params.ts";
import type { AnyStored, Stored } from "../state.ts";
import type { JsonObject, RequestMeta, StoredPaymentMethod } from "../types.ts";
import { getPaymentMethod } from "./payment_methods.ts";

function getSetupIntent(call: Call, id: string): Stored<"setup_intent"> {
  const si = call.emu.state.get("setup_intent", id);
  if (!si) throw noSuch("setupintent", id);
  return si;
}

function confirm(
  call: Call,
  si: Stored<"setup_intent">,
  pmParam: string | undefined,
): Stored<"setup_intent"> {
  if (si.status === "succeeded" || si.status === "canceled") {
    throw invalid(
      `You cannot confirm this SetupIntent because it has a status of ${si.status}.`,
      undefined,
      "setup_intent_unexpected_state",
    );
  }
  const before = call.emu.state.render(si);
  const pmId = pmParam ?? si.payment_method;
  if (!pmId) {
    throw invalid(
      "You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.",
      "payment_method",
      "setup_intent_unexpected_state",
    );
  }
  const pm = getPaymentMethod(call, pmId, "payment_method");
  si.payment_method = pm.id;
  const refusal = pm._card?.declineOnAttach;
  if (refusal) {
    failSetup(
      call.emu,
      si,
      pm,
      { code: refusal.code, decline_code: refusal.declineCode, message: refusal.message },
      call.request,
    );
    throw cardError(refusal.message, refusal.code, refusal.declineCode, {
      setup_intent: call.emu.state.render(si),
      payment_method: call.emu.state.render(pm),
    });
  }
  // Every 3-D Secure test card asks for authentication when it is set up (docs.stripe.com/testing#authentication-and-setup).
  if (setupNeedsAuthentication(pm._card)) {
    si.status = "requires_action";
    si.next_action = {
      type: "use_stripe_sdk",
      use_stripe_sdk: {
        type: "three_d_secure_redirect",
        stripe_js: `https://hooks.stripe.com/3d_secure_2/hosted?setup_intent=${si.id}`,
        source: `src_${si.id.slice(5)}`,
      },
    };
    call.emu.emit("setup_intent.requires_action", si, { request: call.request, previous: before });
    return si;
  }
  succeedSetup(call.emu, si, pm, call.request, before);
  return si;
}

/** The SetupIntent succeeds: the method is attached to its customer and counts as set up. */
function succeedSetup(
  emu: Emulator,
  si: Stored<"setup_intent">,
  pm: StoredPaymentMethod,
  request: RequestMeta,
  before: JsonObject,
): void {
  if (si.customer && !pm.customer) {
    pm.customer = si.customer;
    pm._test_clock = si._test_clock ?? null;
    emu.emit("payment_method.attached", pm, { request });
  }
  pm._set_up = true;
  si.status = "succeeded";
  si.next_action = null;
  si.last_setup_error = null;
  si.latest_attempt = emu.state.newId("setatt");
  emu.emit("setup_intent.succeeded", si, { request, previous: before });
}

function failSetup(
  emu: Emulator,
  si: Stored<"setup_intent">,
  pm: StoredPaymentMethod,
  error: { code: string; decline_code?: string; message: string },
  request: RequestMeta,
): void {
  const before = emu.state.render(si);
  si.status = "requires_payment_method";
  si.next_action = null;
  si.last_setup_error = {
    type: "card_error",
    ...error,
    doc_url: `https://stripe.com/docs/error-codes/${error.code.replaceAll("_", "-")}`,
    payment_method: emu.state.render(pm),
  };
  emu.emit("setup_intent.setup_failed", si, { request, previous: before });
}

/**
 * Test control for Stripe's 3-D Secure test page on a SetupIntent in `requires_action`:
 * `succeed` attaches the method (setup_intent.succeeded), `fail` leaves the SetupIntent
 * `requires_payment_method` with `setup_intent_authentication_failure` (setup_intent.setup_failed).
 * Served at `POST /_emulator/setup_intents/:id/authenticate`.
 */
export function authenticateSetupIntentByCustomer(
  emu: Emulator,
  intent: AnyStored,
  outcome: "succeed" | "fail",
): JsonObject {
  // The control found `intent` by id; read it back as the SetupIntent it is.
  const si = emu.state.get("setup_intent", intent.id);
  if (!si) throw noSuch("setupintent", intent.id);
  const pm = si.payment_method ? emu.state.get("payment_method", si.payment_method) : undefined;
  if (!pm) throw new Error(`SetupIntent ${si.id} awaits authentication without a payment method`);
  const request = { id: null, idempotency_key: null };
  if (outcome === "succeed") succeedSetup(emu, si, pm, request, emu.state.render(si));
  else
    failSetup(
      emu,
      si,
      pm,
      {
        code: "setup_intent_authentication_failure",
        message: "The latest attempt to set up the payment method has failed because authentication failed.",
      },
      request,
    );
  return emu.state.render(si);
}

/** A stored SetupIntent in `requires_payment_method`; emits `setup_intent.created` when `request` is given. */
export function newSetupIntent(
  emu: Emulator,
  customer: Stored<"customer"> | null,
  usage: string,
  request: RequestMeta | null,
): Stored<"setup_intent"> {
  const { state } = emu;
  const id = state.newId("seti");
  const si: Stored<"setup_intent"> = {
    id,
    object: "setup_intent",
    application: null,
    automatic_payment_methods: { allow_redirects: "always", enabled: true },
    cancellation_reason: null,
    client_secret: `${id}_secret_${state.randomString(32)}`,
    created: nowFor(emu, customer?.test_clock),
    customer: customer?.id ?? null,
    customer_account: null,
    description: null,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: ["card"],
    single_use_mandate: null,
    status: "requires_payment_method",
    usage,
    _test_clock: customer?.test_clock ?? null,
  };
  state.insert("setup_intent", si);
  if (request) emu.emit("setup_intent.created", si, { request });
  return si;
}

export const setupIntentRoutes: Route[] = [
  {
    method: "POST",
    path: "/v1/setup_intents",
    handler: (call) => {
      const { state } = call.emu;
      const b = paramsOf<Stripe.SetupIntentCreateParams>(call);
      const customerId = str(b.customer, "customer") ?? null;
      const customer = customerId ? state.get("customer", customerId) : null;
      if (customerId && !customer) throw noSuch("customer", customerId, "customer");
      const si = newSetupIntent(
        call.emu,
        customer ?? null,
        oneOf(b.usage, ["on_session", "off_session"], "usage") ?? "off_session",
        null,
      );
      si.description = str(b.description, "description") ?? null;
      si.metadata = metadata(b.metadata);
      const pmId = str(b.payment_method, "payment_method");
      if (pmId) {
        si.payment_method = getPaymentMethod(call, pmId, "payment_method").id;
        si.status = "requires_confirmation";
      }
      call.emu.emit("setup_intent.created", si, { request: call.request });
      if (bool(b.confirm, "confirm")) return confirm(call, si, undefined);
      return si;
    },
  },
  { method: "GET", path: "/v1/setup_intents/:id", handler: (call) => getSetupIntent(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/setup_intents/:id",
    handler: (call) => {
      const si = getSetupIntent(call, call.params.id!);
      const b = paramsOf<Stripe.SetupIntentUpdateParams>(call);
      if ("metadata" in b) si.metadata = mergeMetadata(si.metadata, b.metadata);
      const pmId = str(b.payment_method, "payment_method");
      if (pmId) {
        si.payment_method = getPaymentMethod(call, pmId, "payment_method").id;
        si.status = "requires_confirmation";
      }
      return si;
    },
  },
  {
    method: "POST",
    path: "/v1/setup_intents/:id/confirm",
    handler: (call) =>
      confirm(
        call,
        getSetupIntent(call, call.params.id!),
        str(paramsOf<Stripe.SetupIntentConfirmParams>(call).payment_method, "payment_method"),
      ),
  },
  {
    method: "POST",
    path: "/v1/setup_intents/:id/cancel",
    handler: (call) => {
      const si = getSetupIntent(call, call.params.id!);
      if (si.status === "succeeded")
        throw invalid(
          "You cannot cancel this SetupIntent because it has a status of succeeded.",
          undefined,
          "setup_intent_unexpected_state",
        );
      si.status = "canceled";
      si.cancellation_reason = paramsOf<Stripe.SetupIntentCancelParams>(call).cancellation_reason ?? null;
      call.emu.emit("setup_intent.canceled", si, { request: call.request });
      return si;
    },
  },
  {
    method: "GET",
    path: "/v1/setup_intents",
    handler: (call) => {
      const b = paramsOf<Stripe.SetupIntentListParams>(call);
      const customer = str(b.customer, "customer");
      const rows = call.emu.state.all("setup_intent").filter((s) => !customer || s.customer === customer);
      return paginate(rows, b, "/v1/setup_intents", (o) => call.emu.state.render(o));
    },
  },
];
