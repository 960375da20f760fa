import type { State } from "../state.ts";
import { StripeApiError } from "./errors.ts";

const RETENTION_SECONDS = 24 * 3600;

export type IdempotencyLookup =
  | { kind: "new"; scopeKey: string }
  | { kind: "replay"; status: number; body: string };

/**
 * Stripe idempotency: keys are scoped per API key; the same key with the same parameters replays
 * the stored response, with different parameters it is a 400 idempotency_error, and while the
 * first request is still running a second one gets 409.
 */
export function lookupIdempotency(
  state: State,
  apiKey: string,
  key: string,
  fingerprint: string,
): IdempotencyLookup {
  if (key.length > 255) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      message: "Idempotency-Key must be at most 255 characters long.",
    });
  }
  const scopeKey = `${apiKey}\u0000${key}`;
  const stored = state.idempotency.get(scopeKey);
  const now = Math.floor(Date.now() / 1000);
  if (!stored || now - stored.createdAt > RETENTION_SECONDS) {
    state.idempotency.set(scopeKey, { fingerprint, status: 0, body: "", inFlight: true, createdAt: now });
    return { kind: "new", scopeKey };
  }
  if (stored.fingerprint !== fingerprint) {
    throw new StripeApiError(400, {
      type: "idempotency_error",
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  }
  if (stored.inFlight) {
    throw new StripeApiError(409, {
      type: "idempotency_error",
      message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
    });
  }
  return { kind: "replay", status: stored.status, body: stored.body };
}

export function storeIdempotency(
  state: State,
  scopeKey: string,
  status: number,
  body: string,
  keep: boolean,
): void {
  const stored = state.idempotency.get(scopeKey);
  if (!stored) return;
  if (!keep) {
    state.idempotency.delete(scopeKey);
    return;
  }
  stored.status = status;
  stored.body = body;
  stored.inFlight = false;
}
