import type { Envelope } from "@bridge/domain";
import { CompressionTypes, type IHeaders, Partitioners, type Producer } from "kafkajs";
import type { Registry } from "prom-client";
import { encodeEnvelope, type MessageHeaders } from "./codec.ts";
import { PublishTimeoutError } from "./errors.ts";
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

export interface MessageProducer {
  connect(): Promise<void>;
  /**
   * Validates the envelope, sends it and resolves only once the broker acknowledged it
   * (acks=all). Rejects with PublishTimeoutError after `publishTimeoutMs`.
   */
  publish<TData>(topic: string, message: OutgoingMessage<TData>): Promise<PublishReceipt>;
  /** Same guarantees for several messages to one topic in one request. */
  publishBatch<TData>(topic: string, messages: OutgoingMessage<TData>[]): Promise<PublishReceipt[]>;
  /** For readiness probes: connected and not disconnected since. */
  isConnected(): boolean;
  disconnect(): Promise<void>;
}

/** Bytes as they were, for DLQ forwarding and re-drive (internal to the runtime). */
export type RawMessage = { key: Buffer | string | null; value: Buffer | string | null; headers: IHeaders };

export interface RawProducer {
  sendRaw(topic: string, messages: RawMessage[]): Promise<void>;
}

export type ProducerOptions = {
  /** Upper bound for one publish, connection included (default 5000 ms). */
  publishTimeoutMs?: number;
  /** Prometheus registry for messaging_messages_published_total. */
  registry?: Registry;
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
  const metrics = options.registry ? createMessagingMetrics(options.registry) : undefined;
  const producer: Producer = client.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // Bounded so a dead broker does not pile up sends retrying forever behind timed-out callers.
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: Math.max(1_000, timeoutMs) },
  });
  let connected = false;
  let connecting: Promise<void> | undefined;
  producer.on(producer.events.CONNECT, () => {
    connected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });

  const connect = (): Promise<void> => {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };

  async function send(topic: string, messages: RawMessage[]) {
    const sent = withTimeout(
      (async () => {
        await connect();
        return producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages });
      })(),
      timeoutMs,
      () => new PublishTimeoutError(`publish to ${topic} not acknowledged within ${timeoutMs} ms`),
    );
    const metadata = await sent;
    metrics?.published.inc({ topic }, messages.length);
    return metadata;
  }

  return {
    connect,
    async publish(topic, message) {
      const { value, headers } = encodeEnvelope(message.envelope, message.headers);
      const [meta] = await send(topic, [{ key: message.key, value, headers }]);
      return { topic, partition: meta?.partition ?? -1, offset: meta?.baseOffset ?? "-1" };
    },
    async publishBatch(topic, messages) {
      if (messages.length === 0) return [];
      const encoded = messages.map((m) => ({ key: m.key, ...encodeEnvelope(m.envelope, m.headers) }));
      const metadata = await send(topic, encoded);
      return metadata.map((m) => ({ topic, partition: m.partition, offset: m.baseOffset ?? "-1" }));
    },
    async sendRaw(topic, messages) {
      await send(topic, messages);
    },
    isConnected: () => connected,
    async disconnect() {
      connecting = undefined;
      await producer.disconnect();
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
