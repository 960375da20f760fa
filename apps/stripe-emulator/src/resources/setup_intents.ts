import type { Call, Emulator, Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { bool, mergeMetadata, metadata, oneOf, str } from "../http/params.ts";
import type { RequestMeta, StripeObject } from "../types.ts";
import { attachPaymentMethod, getPaymentMethod } from "./payment_methods.ts";

function getSetupIntent(call: Call, id: string): StripeObject {
  const si = call.emu.state.get("setup_intent", id);
  if (!si) throw noSuch("setupintent", id);
  return si;
}

function confirm(call: Call, si: StripeObject, pmParam: string | undefined): StripeObject {
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
  let pm: StripeObject;
  if (si.customer) {
    const customer = call.emu.state.get("customer", si.customer)!;
    pm = attachPaymentMethod(call, pmId, customer, "payment_method");
  } else {
    pm = getPaymentMethod(call, pmId, "payment_method");
  }
  si.payment_method = pm.id;
  si.status = "succeeded";
  si.latest_attempt = call.emu.state.newId("setatt");
  call.emu.emit("setup_intent.succeeded", si, { request: call.request, previous: before });
  return si;
}

/** A stored SetupIntent in `requires_payment_method`; emits `setup_intent.created` when `request` is given. */
export function newSetupIntent(
  emu: Emulator,
  customer: StripeObject | null,
  usage: string,
  request: RequestMeta | null,
): StripeObject {
  const { state } = emu;
  const id = state.newId("seti");
  const si: StripeObject = {
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
      const b = call.body;
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
      if (bool(b.confirm, "confirm")) return confirm(call, si, pmId);
      return si;
    },
  },
  { method: "GET", path: "/v1/setup_intents/:id", handler: (call) => getSetupIntent(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/setup_intents/:id",
    handler: (call) => {
      const si = getSetupIntent(call, call.params.id!);
      if ("metadata" in call.body) si.metadata = mergeMetadata(si.metadata, call.body.metadata);
      const pmId = str(call.body.payment_method, "payment_method");
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
      confirm(call, getSetupIntent(call, call.params.id!), str(call.body.payment_method, "payment_method")),
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
      si.cancellation_reason = call.body.cancellation_reason ?? null;
      call.emu.emit("setup_intent.canceled", si, { request: call.request });
      return si;
    },
  },
  {
    method: "GET",
    path: "/v1/setup_intents",
    handler: (call) => {
      const customer = str(call.body.customer, "customer");
      const rows = call.emu.state.all("setup_intent").filter((s) => !customer || s.customer === customer);
      return paginate(rows, call.body, "/v1/setup_intents", (o) => call.emu.state.render(o));
    },
  },
];
