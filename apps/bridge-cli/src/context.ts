import { createKafkaClient, type KafkaClient } from "@bridge/messaging";
import { createLogger, type Logger } from "@bridge/observability";
import { createStore, type Store, stripeBudgetStore } from "@bridge/store";
import { accountBudget, createStripeClient, type SharedBudget, type Stripe } from "@bridge/stripe-client";
import { type CliConfig, need } from "./config.ts";

/** What commands share: config, output streams, and lazily opened connections closed at exit. */
export type CliContext = {
  config: CliConfig;
  out: (line: string) => void;
  err: (line: string) => void;
  logger: Logger;
  kafka(command: string): KafkaClient;
  store(command: string): Store;
  /** Stripe, taking its requests from the account's shared budget as background work (decision 016). */
  stripe(command: string): Stripe;
  close(): Promise<void>;
};

export function createContext(
  config: CliConfig,
  io: { out: (line: string) => void; err: (line: string) => void },
): CliContext {
  const logger = createLogger("bridge-cli", { level: config.LOG_LEVEL });
  let kafka: KafkaClient | undefined;
  let store: Store | undefined;
  let budget: SharedBudget | undefined;
  let stripe: Stripe | undefined;
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
    stripe(command) {
      if (stripe) return stripe;
      const secretKey = need(config, "STRIPE_SECRET_KEY", command);
      const db = this.store(command).db;
      budget = accountBudget(secretKey, "background", (id) => stripeBudgetStore(db, id));
      stripe = createStripeClient({ secretKey, apiUrl: config.STRIPE_API_URL, limiter: budget }).stripe;
      return stripe;
    },
    async close() {
      await budget?.close();
      await store?.close();
    },
  };
}
