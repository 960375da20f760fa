import { collectDefaultMetrics, Registry } from "prom-client";

export type Metrics = { registry: Registry; render(): Promise<string>; contentType: string };

/** One Prometheus registry per service, with process metrics and a `service` label. */
export function createMetrics(service: string, options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return { registry, render: () => registry.metrics(), contentType: registry.contentType };
}
