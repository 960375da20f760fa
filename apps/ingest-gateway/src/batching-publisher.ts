import {
  DEFAULT_MAX_MESSAGE_BYTES,
  type EncodedMessage,
  encodeMessage,
  type MessageProducer,
  type OutgoingMessage,
} from "@bridge/messaging";

type Pending = { message: EncodedMessage; resolve: () => void; reject: (error: unknown) => void };
type TopicQueue = { waiting: Pending[]; inFlight: boolean };

/**
 * Group commit for publishes: while one produce request per topic is in flight, the messages
 * that arrive meanwhile queue up and go out together in the next request (same acks=all
 * guarantee, resolved per message once the broker acknowledged the batch). A lone request is
 * sent at once, so latency at low load is one round trip; under load the number of round trips
 * per message drops with the queue length.
 *
 * Each message is encoded and size-checked when it is handed in, before it joins a batch: one
 * that cannot be encoded or is too large fails its own caller only (InvalidEnvelopeError,
 * MessageTooLargeError), never its neighbours. A batch holds at most `maxBatch` messages and
 * `maxBytes` bytes, so the broker never refuses a batch for its size. A batch the broker does
 * not acknowledge fails each of its callers (the gateway answers them 503).
 */
export function createBatchingPublisher(
  producer: MessageProducer,
  options: {
    maxBatch?: number;
    maxBytes?: number;
    /** Called with each batch's message count as it is sent (for a metric). */
    onBatch?: (topic: string, messages: number) => void;
  } = {},
) {
  const maxBatch = options.maxBatch ?? 500;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const queues = new Map<string, TopicQueue>();

  /** The longest prefix of `waiting` within both caps (at least one message: each fits alone). */
  function nextBatch(waiting: Pending[]): Pending[] {
    let count = 0;
    let bytes = 0;
    while (count < waiting.length && count < maxBatch) {
      const size = waiting[count]!.message.bytes;
      if (count > 0 && bytes + size > maxBytes) break;
      bytes += size;
      count++;
    }
    return waiting.splice(0, count);
  }

  async function flush(topic: string, state: TopicQueue) {
    state.inFlight = true;
    while (state.waiting.length > 0) {
      const batch = nextBatch(state.waiting);
      options.onBatch?.(topic, batch.length);
      try {
        await producer.publishEncoded(
          topic,
          batch.map((p) => p.message),
        );
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    state.inFlight = false;
  }

  return {
    publish<T>(topic: string, message: OutgoingMessage<T>): Promise<void> {
      let encoded: EncodedMessage;
      try {
        encoded = encodeMessage(message, maxBytes);
      } catch (error) {
        return Promise.reject(error);
      }
      let state = queues.get(topic);
      if (!state) {
        state = { waiting: [], inFlight: false };
        queues.set(topic, state);
      }
      const queued = state;
      return new Promise<void>((resolve, reject) => {
        queued.waiting.push({ message: encoded, resolve, reject });
        if (!queued.inFlight) void flush(topic, queued);
      });
    },
  };
}
