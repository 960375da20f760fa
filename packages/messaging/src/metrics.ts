import { Counter, Histogram, type Registry } from "prom-client";

/** Counters and the handle-duration histogram of the consumer runtime. */
export type MessagingMetrics = {
  handled: Counter<"topic" | "type">;
  failed: Counter<"topic" | "error_class">;
  retried: Counter<"topic" | "where">;
  deadLettered: Counter<"topic" | "error_class">;
  published: Counter<"topic">;
  handleDuration: Histogram<"topic" | "outcome">;
};

/**
 * Registers (or reuses, when producer and consumer share a registry) the messaging metrics.
 * - messaging_messages_handled_total: handler succeeded
 * - messaging_messages_failed_total: a handler attempt failed, by error class
 * - messaging_messages_retried_total: where="in_place" (another attempt) or "retry_topic"
 * - messaging_messages_dead_lettered_total: sent to `<topic>.dlq`
 * - messaging_messages_published_total: acknowledged by the broker
 * - messaging_handle_duration_seconds: one observation per handler attempt
 */
export function createMessagingMetrics(registry: Registry): MessagingMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });
  return {
    handled: counter("messaging_messages_handled_total", "Messages handled successfully", ["topic", "type"]),
    failed: counter("messaging_messages_failed_total", "Failed handler attempts", ["topic", "error_class"]),
    retried: counter("messaging_messages_retried_total", "Retries, in place or via the retry topic", [
      "topic",
      "where",
    ]),
    deadLettered: counter("messaging_messages_dead_lettered_total", "Messages sent to the DLQ", [
      "topic",
      "error_class",
    ]),
    published: counter("messaging_messages_published_total", "Messages acknowledged by the broker", [
      "topic",
    ]),
    handleDuration:
      (registry.getSingleMetric("messaging_handle_duration_seconds") as
        | Histogram<"topic" | "outcome">
        | undefined) ??
      new Histogram({
        name: "messaging_handle_duration_seconds",
        help: "Duration of one handler attempt",
        labelNames: ["topic", "outcome"],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
  };
}
