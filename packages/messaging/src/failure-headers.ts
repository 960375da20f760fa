import type { IHeaders } from "kafkajs";
import { type ErrorClass, errorMessageOf } from "./errors.ts";
import { baseTopicOf } from "./topics.ts";

/** Headers the runtime adds when it forwards a message to `<topic>.retry` or `<topic>.dlq`. */
export const failureHeaders = {
  errorClass: "x-error-class",
  errorMessage: "x-error-message",
  originalTopic: "x-original-topic",
  originalPartition: "x-original-partition",
  originalOffset: "x-original-offset",
  failedAt: "x-failed-at",
  retryCount: "x-retry-count",
  retryNotBefore: "x-retry-not-before",
  redrivenFrom: "x-redriven-from",
} as const;

/** What the DLQ says about a failure: the error class, or "unhandled" for an unknown type. */
export type FailureClass = Exclude<ErrorClass, "fatal"> | "unhandled";

const MAX_ERROR_MESSAGE = 1_000;

/**
 * Copies the message headers and stamps the failure. The original position is the message's
 * own, except for a message read from a retry topic, which keeps the position it was first
 * read at (so a re-drive goes back to the main topic).
 */
export function stampFailure(
  headers: IHeaders | undefined,
  source: { topic: string; partition: number; offset: string },
  failure: { errorClass: FailureClass; error: unknown },
  extra: Record<string, string> = {},
): IHeaders {
  const out: IHeaders = { ...(headers ?? {}) };
  const fromRetryTopic =
    source.topic !== baseTopicOf(source.topic) && out[failureHeaders.originalTopic] !== undefined;
  if (!fromRetryTopic) {
    out[failureHeaders.originalTopic] = source.topic;
    out[failureHeaders.originalPartition] = String(source.partition);
    out[failureHeaders.originalOffset] = source.offset;
  }
  out[failureHeaders.errorClass] = failure.errorClass;
  out[failureHeaders.errorMessage] = errorMessageOf(failure.error).slice(0, MAX_ERROR_MESSAGE);
  out[failureHeaders.failedAt] = new Date().toISOString();
  return { ...out, ...extra };
}

/** Headers for a re-driven message: the failure stamps removed, the DLQ position recorded. */
export function stripFailure(headers: IHeaders | undefined, redrivenFrom: string): IHeaders {
  const out: IHeaders = {};
  const stamped = new Set<string>(Object.values(failureHeaders));
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!stamped.has(name)) out[name] = value;
  }
  out[failureHeaders.redrivenFrom] = redrivenFrom;
  return out;
}
