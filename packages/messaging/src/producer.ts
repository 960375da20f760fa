import type { Envelope } from "@bridge/domain";
import { CompressionTypes, type IHeaders, Partitioners, type Producer } from "kafkajs";
import type { Registry } from "prom-client";
import { encodeEnvelope, type MessageHeaders } from "./codec.ts";
import { InvalidEnvelopeError, PublishTimeoutError } from "./errors.ts";
import type { KafkaClient } from "./kafka-client.ts";
import { createMessagingMetrics } from "./metrics.ts";

export type OutgoingMessage<TData = unknown> = {
  /** Partition key (DESIGN.md §3: usually the Limio subscription id). */
  key: string;
  envelope: Envelope<TData>;
  /** Extra headers, e.g. `traceparent`. Envelope fields are mirrored automatically. */
  headers?: MessageHeaders;
};

export type PublishReceipt = { topic: string; partition: number; offset: string };

/** A message as it goes on the wire: encoded once, its size known before it joins a batch. */
export type EncodedMessage = { key: string; value: string; headers: MessageHeaders; bytes: number };

/**
 * Kafka's default largest message (`message.max.bytes`, 1,048,588) less room for the record
 * batch framing. A message or batch above the broker's limit is refused by the broker as a whole.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;

/** The message (or batch) is larger than the broker accepts: a property of the message, never retried. */
export class MessageTooLargeError extends Error {
  override readonly name = "MessageTooLargeError";
  readonly bytes: number;
  readonly maxBytes: number;
  constructor(bytes: number, maxBytes: number) {
    super(`message of ${bytes} bytes exceeds the ${maxBytes} bytes the broker accepts`);
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/**
 * Validates and encodes one message and measures it (key, value and headers, UTF-8). Throws
 * InvalidEnvelopeError for an envelope that cannot be encoded (including one nested too deep for
 * the encoder), MessageTooLargeError above `maxBytes`.
 */
export function encodeMessage<TData>(
  message: OutgoingMessage<TData>,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): EncodedMessage {
  let encoded: { value: string; headers: MessageHeaders };
  try {
    encoded = encodeEnvelope(message.envelope, message.headers);
  } catch (error) {
    if (error instanceof InvalidEnvelopeError) throw error;
    // A RangeError (call stack) from validating or stringifying a pathological payload.
    throw new InvalidEnvelopeError(
      `refusing to publish an envelope that cannot be encoded: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  let bytes = Buffer.byteLength(message.key) + Buffer.byteLength(encoded.value);
  for (const [name, value] of Object.entries(encoded.headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  if (bytes > maxBytes) throw new MessageTooLargeError(bytes, maxBytes);
  return { key: message.key, ...encoded, bytes };
}

export interface MessageProducer {
  connect(): Promise<void>;
  /**
   * Validates the envelope, sends it and resolves only once the broker acknowledged it
   * (acks=all). Rejects with PublishTimeoutError after `publishTimeoutMs`.
   */
  publish<TData>(topic: string, message: OutgoingMessage<TData>): Promise<PublishReceipt>;
  /** Same guarantees for several messages to one topic in one request. */
  publishBatch<TData>(topic: string, messages: OutgoingMessage<TData>[]): Promise<PublishReceipt[]>;
  /**
   * Messages already encoded with `encodeMessage`, in one request; rejects with
   * MessageTooLargeError, before sending, when together they exceed the broker's limit.
   */
  publishEncoded(topic: string, messages: EncodedMessage[]): Promise<PublishReceipt[]>;
  /** For readiness probes: connected and not disconnected since. */
  isConnected(): boolean;
  disconnect(): Promise<void>;
}

/** Bytes as they were, for DLQ forwarding and re-drive (internal to the runtime). */
type RawMessage = { key: Buffer | string | null; value: Buffer | string | null; headers: IHeaders };

export interface RawProducer {
  sendRaw(topic: string, messages: RawMessage[]): Promise<void>;
}

export type ProducerOptions = {
  /** Upper bound for one publish, connection included (default 5000 ms). */
  publishTimeoutMs?: number;
  /** Prometheus registry for messaging_messages_published_total. */
  registry?: Registry;
  /** The broker's largest message (and batch) in bytes; larger ones are refused before sending. */
  maxMessageBytes?: number;
};

export function createProducer(client: KafkaClient, options: ProducerOptions = {}): MessageProducer {
  return createKafkaProducer(client, options);
}

/** @internal the producer plus raw sends; used by the consumer runtime and the DLQ tools. */
export function createKafkaProducer(
  client: KafkaClient,
  options: ProducerOptions = {},
): MessageProducer & RawProducer {
  const timeoutMs = options.publishTimeoutMs ?? 5_000;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const metrics = options.registry ? createMessagingMetrics(options.registry) : undefined;
  /**
   * One kafkajs producer per generation. kafkajs rolls its idempotent sequence numbers back when
   * a send fails, even when the broker had stored that batch; the next batch then reuses those
   * numbers and the broker acknowledges it as a duplicate WITHOUT storing it: an acknowledged
   * message lost (seen after a broker restart; kafkajs issue #598). After any failed or timed-out
   * send the producer is discarded and the next send starts a new one, whose new producer id
   * makes every sequence number fresh.
   */
  type Generation = { producer: Producer; connecting?: Promise<void> };
  let connected = false;
  const newGeneration = (): Generation => {
    const producer: Producer = client.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded so a dead broker does not pile up sends retrying forever behind timed-out callers.
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: Math.max(1_000, timeoutMs) },
    });
    const generation: Generation = { producer };
    producer.on(producer.events.CONNECT, () => {
      if (current === generation) connected = true;
    });
    producer.on(producer.events.DISCONNECT, () => {
      if (current === generation) connected = false;
    });
    return generation;
  };
  let current = newGeneration();

  const connectGeneration = (generation: Generation): Promise<void> => {
    generation.connecting ??= generation.producer.connect().catch((error: unknown) => {
      generation.connecting = undefined;
      throw error;
    });
    return generation.connecting;
  };
  const connect = () => connectGeneration(current);

  /** Replace the producer after a failed send (once per generation, whatever number of sends failed). */
  const discard = (generation: Generation) => {
    if (current !== generation) return;
    current = newGeneration();
    connected = false;
    generation.producer.disconnect().catch(() => {});
    connect().catch(() => {}); // readiness recovers as soon as the broker answers
    client.logger.warn("publish failed: starting a new producer so no sequence number is reused");
  };

  async function send(topic: string, messages: RawMessage[]) {
    const generation = current;
    try {
      const metadata = await withTimeout(
        (async () => {
          await connectGeneration(generation);
          return generation.producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
        })(),
        timeoutMs,
        () => new PublishTimeoutError(`publish to ${topic} not acknowledged within ${timeoutMs} ms`),
      );
      metrics?.published.inc({ topic }, messages.length);
      return metadata;
    } catch (error) {
      discard(generation);
      throw error;
    }
  }

  async function publishEncoded(topic: string, messages: EncodedMessage[]): Promise<PublishReceipt[]> {
    if (messages.length === 0) return [];
    const total = messages.reduce((sum, m) => sum + m.bytes, 0);
    if (total > maxBytes) throw new MessageTooLargeError(total, maxBytes);
    const metadata = await send(
      topic,
      messages.map(({ key, value, headers }) => ({ key, value, headers })),
    );
    return metadata.map((m) => ({ topic, partition: m.partition, offset: m.baseOffset ?? "-1" }));
  }

  return {
    connect,
    async publish(topic, message) {
      const [receipt] = await publishEncoded(topic, [encodeMessage(message, maxBytes)]);
      return receipt ?? { topic, partition: -1, offset: "-1" };
    },
    publishBatch: (topic, messages) =>
      publishEncoded(
        topic,
        messages.map((m) => encodeMessage(m, maxBytes)),
      ),
    publishEncoded,
    async sendRaw(topic, messages) {
      await send(topic, messages);
    },
    isConnected: () => {
      // A readiness probe finding it disconnected starts the reconnect (a not-ready gateway gets
      // no traffic, so waiting for the next publish could wait forever).
      if (!connected) connect().catch(() => {});
      return connected;
    },
    async disconnect() {
      await current.producer.disconnect();
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  // The losing send keeps running in kafkajs (bounded by its own retries); swallow its late error.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
