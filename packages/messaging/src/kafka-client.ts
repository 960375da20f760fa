import type { Logger } from "@bridge/observability";
import { Kafka, type LogEntry, logLevel } from "kafkajs";
import "./kafkajs-fix.ts";

export type KafkaClientOptions = {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** TCP connect timeout per broker (default 3 s). */
  connectionTimeoutMs?: number;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** kafkajs-level retries of a failed request (default 5, from 300 ms, at most 10 s in all). */
  retries?: number;
};

/**
 * The one kafkajs instance of a process plus the logger its parts share. Apps pass this to
 * `createProducer`, `startConsumer`, `ensureTopics` and the DLQ tools; they never import
 * kafkajs (docs/decisions/002).
 */
export type KafkaClient = {
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly clientId: string;
};

export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  if (options.brokers.length === 0 || options.brokers.some((b) => b.trim() === "")) {
    throw new Error("createKafkaClient: at least one broker address is required");
  }
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1";
  const logger = options.logger.child({ component: "kafka" });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    retry: {
      initialRetryTime: 300,
      retries: options.retries ?? 5,
      maxRetryTime: 10_000,
      factor: 0.2,
      multiplier: 2,
    },
    // kafkajs INFO is chatty (every join, every connect); keep it at debug unless asked for.
    logLevel: logger.isLevelEnabled("debug") ? logLevel.DEBUG : logLevel.WARN,
    logCreator: () => (entry: LogEntry) => routeKafkaLog(logger, entry),
  });
  return { kafka, logger: options.logger, clientId: options.clientId };
}

function routeKafkaLog(logger: Logger, entry: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _name, ...rest } = entry.log;
  const fields = { kafkajs: entry.namespace, ...rest };
  switch (entry.level) {
    case logLevel.ERROR:
      // Connection-level error responses (coordinator loading, leader moved…) are retried by
      // kafkajs; real failures surface as rejected calls or consumer crashes.
      if (entry.namespace === "Connection") logger.warn(fields, message);
      else logger.error(fields, message);
      break;
    case logLevel.WARN:
      logger.warn(fields, message);
      break;
    case logLevel.INFO:
      logger.debug(fields, message);
      break;
    default:
      logger.trace(fields, message);
  }
}
