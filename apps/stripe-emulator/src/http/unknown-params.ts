import type { StripeObject } from "../types.ts";
import { invalid } from "./errors.ts";
import { KNOWN_PARAMS } from "./known-params.ts";

/** Parameters removed by recent API versions, with the explanation Stripe's changelog gives. */
const REMOVED: Record<string, string> = {
  payment_method_types:
    "Since API version 2026-09-30, payment_method_types is no longer accepted on SetupIntent and PaymentIntent creation; payment method types are managed in the Dashboard (see allowed_payment_method_types / payment_method_configuration).",
};

/** Stripe answers 400 `parameter_unknown` to any top-level parameter an endpoint does not take. */
export function rejectUnknownParams(method: string, routePath: string, body: StripeObject): void {
  const known = KNOWN_PARAMS[`${method} ${routePath}`];
  if (!known) return;
  for (const key of Object.keys(body)) {
    if (known.includes(key)) continue;
    const why = REMOVED[key];
    throw invalid(
      why ? `Received unknown parameter: ${key}. ${why}` : `Received unknown parameter: ${key}`,
      key,
      "parameter_unknown",
    );
  }
}
