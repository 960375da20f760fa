import { z } from "zod";

/** One field-level problem: `path` is the dotted field path (`orderItems.0.offer.id`). */
export type ErrorDetail = { path: string; message: string };

/**
 * The one error shape of every 4xx/5xx answer:
 * `{ "error": { "code", "message", "details"?: [{ "path", "message" }] } }`.
 */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: "Stable machine-readable code", example: "validation_error" }),
      message: z.string().meta({ description: "Human-readable explanation" }),
      details: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .meta({ description: "Field-level problems (validation errors)" }),
    }),
  })
  .meta({
    id: "Error",
    description: "The one error shape of every 4xx and 5xx answer",
    examples: [
      {
        error: {
          code: "validation_error",
          message: "the order is invalid",
          details: [{ path: "orderItems.0.offer.id", message: "Invalid input: expected string" }],
        },
      },
    ],
  });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

/** An error that becomes an HTTP answer in the one error shape (see plugins/errors.ts). */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  readonly headers: Record<string, string>;
  constructor(
    statusCode: number,
    code: string,
    message: string,
    options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "HttpError";
    this.statusCode = statusCode;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export function errorBody(code: string, message: string, details?: ErrorDetail[]): ErrorResponse {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}) } };
}

const statusDescriptions: Record<number, string> = {
  400: "Malformed request: invalid JSON, validation errors and input outside the edge limits (with field paths), bad signature",
  401: "Missing or invalid API key",
  403: "The API key lacks the scope this operation needs",
  404: "Unknown order or Limio subscription",
  409: "Conflict: the same idempotency identity (of this API key) with a different payload, or a subscription that allows no orders",
  413: "Body larger than the route's limit, or a message larger than the broker accepts",
  415: "Content-Type is not application/json",
  429: "Too many requests for this API key: per minute (`rate_limited`) or at once (`too_many_concurrent_requests`); Retry-After says when to retry",
  503: "Kafka did not acknowledge in time, or (with an API key) the connections API clients may hold are all taken (`too_many_connections`); Retry-After says when to retry; nothing was accepted",
};

/** Standard error responses for the OpenAPI document, by status. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [status, errorResponseSchema.describe(statusDescriptions[status] ?? "Error")]),
  ) as Record<number, typeof errorResponseSchema>;
