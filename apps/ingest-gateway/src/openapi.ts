// Regenerates the committed OpenAPI document: `npm run openapi -w apps/ingest-gateway`.
// The test in openapi.test.ts fails when the committed file drifts from the routes.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { MessageProducer } from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import type { FastifyInstance } from "fastify";
import { buildGateway } from "./app.ts";
import { loadConfig } from "./config.ts";

export const openapiPath = fileURLToPath(new URL("../openapi.json", import.meta.url));

/** The OpenAPI document as the routes generate it (no broker or database needed). */
export async function generateOpenapi(): Promise<Record<string, unknown>> {
  const unused = () => {
    throw new Error("not available while generating the OpenAPI document");
  };
  const app: FastifyInstance = await buildGateway({
    config: loadConfig({
      KAFKA_BROKERS: "127.0.0.1:9",
      DATABASE_URL: "postgresql://unused@127.0.0.1:9/unused",
      API_KEYS: "docs:docs-key-0123456789abcdef:orders+sync+read",
      STRIPE_WEBHOOK_SECRETS: "whsec_docs",
    }),
    logger: createLogger("openapi", { level: "silent" }),
    producer: {
      publish: unused,
      publishBatch: unused,
      publishEncoded: unused,
      connect: unused,
      disconnect: unused,
      isConnected: () => false,
    } as MessageProducer,
    store: { db: {} as never, sql: async () => [], ping: async () => false },
  });
  await app.ready();
  const document = structuredClone(app.swagger()) as Record<string, unknown>;
  await app.close();
  return document;
}

export const serialiseOpenapi = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(openapiPath, serialiseOpenapi(await generateOpenapi()));
  console.log(`wrote ${openapiPath}`);
}
