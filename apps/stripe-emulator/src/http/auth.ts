import { StripeApiError } from "./errors.ts";

const KEY_PATTERN = /^(sk_test_|sk_live_|rk_test_|rk_live_)[A-Za-z0-9_]+$/;

function mask(key: string): string {
  return key.length <= 12 ? "****" : `${key.slice(0, 8)}****${key.slice(-4)}`;
}

/**
 * Bearer (or Basic, key as user name) secret key, as Stripe accepts. Stripe answers 401 with
 * type `invalid_request_error`; the SDK turns any 401 into StripeAuthenticationError.
 */
export function authenticate(header: string | undefined, accepted: string[]): string {
  if (!header) {
    throw new StripeApiError(401, {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  let key = "";
  const [scheme, value = ""] = header.split(" ", 2);
  if (scheme?.toLowerCase() === "bearer") key = value.trim();
  else if (scheme?.toLowerCase() === "basic")
    key = Buffer.from(value, "base64").toString("utf8").split(":")[0] ?? "";
  const ok = accepted.length > 0 ? accepted.includes(key) : KEY_PATTERN.test(key);
  if (!ok) {
    throw new StripeApiError(401, {
      type: "invalid_request_error",
      message: `Invalid API Key provided: ${mask(key)}`,
    });
  }
  return key;
}
