import { createProducer, type KafkaClient } from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { countUnpublishedChanges, type Store } from "@bridge/store";
import { type ChangeRelay, type ChangeRelayOptions, startChangeRelay } from "@bridge/sync-core";
import { Gauge, type Registry } from "prom-client";

export type ChangeEventsOptions = {
  kafka: KafkaClient;
  store: Store;
  logger: Logger;
  registry: Registry;
  topic: string;
  pollIntervalMs?: number;
  hooks?: ChangeRelayOptions["hooks"];
  retention?: ChangeRelayOptions["retention"];
  /** Register `sync_change_events_unpublished` (once per registry). */
  backlogGauge?: boolean;
};

/**
 * The change-event relay of this replica (docs/decisions/017): its own producer, publishing the
 * outbox to limio.subscription-changes.v1. Nudged by every commit of this process's sync.
 */
export async function startChangeEvents(options: ChangeEventsOptions): Promise<ChangeRelay> {
  if (options.backlogGauge) {
    new Gauge({
      name: "sync_change_events_unpublished",
      help: "Change events in the outbox not yet published (a growing value: the relay is stuck)",
      registers: [options.registry],
      async collect() {
        // While the store is down the gauge keeps its last value: /metrics must still answer.
        const backlog = await countUnpublishedChanges(options.store.db).catch(() => undefined);
        if (backlog !== undefined) this.set(backlog);
      },
    });
  }
  const producer = createProducer(options.kafka, { registry: options.registry });
  await producer.connect();
  const relay = startChangeRelay({
    store: options.store,
    producer,
    topic: options.topic,
    logger: options.logger,
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.retention ? { retention: options.retention } : {}),
  });
  return {
    nudge: relay.nudge,
    async stop() {
      await relay.stop();
      await producer.disconnect();
    },
  };
}
