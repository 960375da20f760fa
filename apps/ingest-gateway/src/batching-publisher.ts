import type { MessageProducer, OutgoingMessage } from "@bridge/messaging";

type Pending = { message: OutgoingMessage<unknown>; resolve: () => void; reject: (error: unknown) => void };

/**
 * Group commit for publishes: while one produce request per topic is in flight, the messages
 * that arrive meanwhile queue up and go out together in the next request (`publishBatch`, same
 * acks=all guarantee, resolved per message once the broker acknowledged the batch). A lone
 * request is sent at once, so latency at low load is one round trip; under load the number of
 * round trips per message drops with the queue length. A failed batch fails each of its callers
 * (the gateway answers them 503); an invalid envelope is retried alone so it cannot sink others.
 */
export function createBatchingPublisher(producer: MessageProducer, options: { maxBatch?: number } = {}) {
  const maxBatch = options.maxBatch ?? 500;
  const queues = new Map<string, { waiting: Pending[]; inFlight: boolean }>();

  async function flush(topic: string, state: { waiting: Pending[]; inFlight: boolean }) {
    state.inFlight = true;
    while (state.waiting.length > 0) {
      const batch = state.waiting.splice(0, maxBatch);
      try {
        await producer.publishBatch(
          topic,
          batch.map((p) => p.message),
        );
        for (const p of batch) p.resolve();
      } catch (error) {
        if (batch.length > 1 && (error as Error)?.name === "InvalidEnvelopeError") {
          await Promise.all(
            batch.map((p) =>
              producer.publish(topic, p.message).then(
                () => p.resolve(),
                (e: unknown) => p.reject(e),
              ),
            ),
          );
        } else {
          for (const p of batch) p.reject(error);
        }
      }
    }
    state.inFlight = false;
  }

  return {
    publish<T>(topic: string, message: OutgoingMessage<T>): Promise<void> {
      let state = queues.get(topic);
      if (!state) {
        state = { waiting: [], inFlight: false };
        queues.set(topic, state);
      }
      const queued = state;
      return new Promise<void>((resolve, reject) => {
        queued.waiting.push({ message: message as OutgoingMessage<unknown>, resolve, reject });
        if (!queued.inFlight) void flush(topic, queued);
      });
    },
  };
}
