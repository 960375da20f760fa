import published from "./error-codes.json" with { type: "json" };

/** Stripe's published error codes (docs.stripe.com/error-codes), generated from the SDK. */
const ERROR_CODES: ReadonlySet<string> = new Set(published.codes);

type StripeErrorType =
  | "api_error"
  | "card_error"
  | "idempotency_error"
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error";

export type StripeErrorBody = {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
  /** Extra fields, such as a card error's `payment_intent` (a whole rendered object). */
  [extra: string]: unknown;
};

/** An error answered in Stripe's shape: `{ error: { type, code, param, message, ... } }`. */
export class StripeApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  readonly headers: Record<string, string>;
  constructor(status: number, body: StripeErrorBody, headers: Record<string, string> = {}) {
    super(body.message);
    // The emulator answers only codes Stripe publishes; an invented one is a bug here, not an answer.
    if (body.code && !ERROR_CODES.has(body.code)) {
      throw new Error(
        `Error code ${body.code} is not in Stripe's published list (src/http/error-codes.json)`,
      );
    }
    this.name = "StripeApiError";
    this.status = status;
    this.body =
      body.code && !body.doc_url
        ? { ...body, doc_url: `https://stripe.com/docs/error-codes/${body.code.replaceAll("_", "-")}` }
        : body;
    this.headers = headers;
  }
}

export function invalid(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError(400, {
    type: "invalid_request_error",
    message,
    ...(param ? { param } : {}),
    ...(code ? { code } : {}),
  });
}

export function missingParam(param: string): StripeApiError {
  return invalid(`Missing required param: ${param}.`, param, "parameter_missing");
}

export function noSuch(objectLabel: string, id: string, param = "id"): StripeApiError {
  return new StripeApiError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    param,
    message: `No such ${objectLabel}: '${id}'`,
  });
}

export function cardError(
  message: string,
  code: string,
  declineCode?: string,
  extra: Record<string, unknown> = {},
) {
  return new StripeApiError(402, {
    type: "card_error",
    code,
    message,
    ...(declineCode ? { decline_code: declineCode } : {}),
    ...extra,
  });
}
