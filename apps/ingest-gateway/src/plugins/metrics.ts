import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, Histogram, type Registry } from "prom-client";

type GatewayMetrics = {
  publishDuration: Histogram<"topic" | "result">;
  publishBatchSize: Histogram<"topic">;
  webhookVerificationFailures: Counter<"reason">;
  webhookUnknownEventTypes: Counter<"type">;
  webhookEvents: Counter<"type">;
  requestsRefused: Counter<"code" | "api_key">;
};

declare module "fastify" {
  interface FastifyInstance {
    gatewayMetrics: GatewayMetrics;
  }
}

const latencyBuckets = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Registers the gateway's metrics once per registry (tests build several apps on one registry). */
function gatewayMetricsOn(registry: Registry) {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    existing<Counter<L>>(name) ?? new Counter({ name, help, labelNames, registers: [registry] });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    buckets: number[] = latencyBuckets,
  ) =>
    existing<Histogram<L>>(name) ?? new Histogram({ name, help, labelNames, buckets, registers: [registry] });
  return {
    requests: counter("gateway_http_requests_total", "HTTP requests by route, method and status", [
      "route",
      "method",
      "status",
    ]),
    requestDuration: histogram("gateway_http_request_duration_seconds", "HTTP request latency by route", [
      "route",
      "method",
      "status",
    ]),
    publishDuration: histogram(
      "gateway_kafka_publish_duration_seconds",
      "Time until Kafka acknowledged (acks=all) a publish, by topic and result",
      ["topic", "result"],
    ),
    publishBatchSize: histogram(
      "gateway_kafka_publish_batch_messages",
      "Messages per produce request (group commit: what queued while the previous one was in flight)",
      ["topic"],
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    ),
    webhookVerificationFailures: counter(
      "gateway_webhook_verification_failures_total",
      "Stripe webhooks refused because their signature did not verify, by reason",
      ["reason"],
    ),
    webhookUnknownEventTypes: counter(
      "gateway_webhook_unknown_event_types_total",
      "Verified Stripe events of types the bridge does not handle (acknowledged, not published)",
      ["type"],
    ),
    webhookEvents: counter("gateway_webhook_events_total", "Verified Stripe events published, by type", [
      "type",
    ]),
    requestsRefused: counter(
      "gateway_requests_refused_total",
      "Requests with an API key refused for what the key holds at once, by error code and key name",
      ["code", "api_key"],
    ),
  };
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, options: { registry: Registry }) => {
    const { requests, requestDuration, ...gateway } = gatewayMetricsOn(options.registry);
    app.decorate("gatewayMetrics", gateway);
    app.addHook("onResponse", async (request, reply) => {
      const route = request.routeOptions.url ?? "unmatched";
      const labels = { route, method: request.method, status: String(reply.statusCode) };
      requests.inc(labels);
      requestDuration.observe(labels, reply.elapsedTime / 1000);
    });
  },
  { name: "metrics" },
);
