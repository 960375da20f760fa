import { Counter, type Registry } from "prom-client";

/** The writer's counters, registered once per registry (several writers may share one in tests). */
function counterOnce(registry: Registry | undefined, name: string, help: string, labelNames: string[]) {
  if (!registry) return undefined;
  return (
    (registry.getSingleMetric(name) as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] })
  );
}

/** Orders finished, by order type and outcome status. */
export const ordersCounter = (registry: Registry | undefined) =>
  counterOnce(
    registry,
    "stripe_writer_orders_total",
    "Orders finished by the writer, by order type and outcome status",
    ["order_type", "status"],
  );

/** Steps actually run against Stripe, by `<order type>:<step>` (replayed steps are not counted). */
export const stepsCounter = (registry: Registry | undefined) =>
  counterOnce(
    registry,
    "stripe_writer_steps_total",
    "Order steps run against Stripe (replayed steps are not counted)",
    ["step"],
  );
