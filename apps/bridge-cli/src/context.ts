import { createKafkaClient, type KafkaClient } from "@bridge/messaging";
import { createLogger, type Logger } from "@bridge/observability";
import { createStore, type Store } from "@bridge/store";
import { type CliConfig, need } from "./config.ts";

/** What commands share: config, output streams, and lazily opened connections closed at exit. */
export type CliContext = {
  config: CliConfig;
  out: (line: string) => void;
  err: (line: string) => void;
  logger: Logger;
  kafka(command: string): KafkaClient;
  store(command: string): Store;
  close(): Promise<void>;
};

export function createContext(
  config: CliConfig,
  io: { out: (line: string) => void; err: (line: string) => void },
): CliContext {
  const logger = createLogger("bridge-cli", { level: config.LOG_LEVEL });
  let kafka: KafkaClient | undefined;
  let store: Store | undefined;
  return {
    config,
    ...io,
    logger,
    kafka(command) {
      kafka ??= createKafkaClient({
        brokers: need(config, "KAFKA_BROKERS", command),
        clientId: "bridge-cli",
        logger,
      });
      return kafka;
    },
    store(command) {
      store ??= createStore(need(config, "DATABASE_URL", command), { poolSize: 4 });
      return store;
    },
    async close() {
      await store?.close();
    },
  };
}
