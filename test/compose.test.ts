// docker-compose.yml checked statically everywhere: every app service's environment must satisfy
// that app's own config schema, and the ports it publishes and health-checks must be the ones the
// app listens on. Where a Docker engine answers, the stack is also built and run: an order goes
// through it and is applied. Without an engine that journey is not registered (a log line says
// so); test/ops/dockerfile.test.ts replays the image's build steps on every machine instead.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dockerEngineAvailable } from "@bridge/local-infra";
import { createStripeClient } from "@bridge/stripe-client";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema as gatewaySchema } from "../apps/ingest-gateway/src/config.ts";
import { configSchema as emulatorSchema } from "../apps/stripe-emulator/src/config.ts";
import { configSchema as writerSchema } from "../apps/stripe-writer/src/config.ts";
import { configSchema as syncSchema } from "../apps/sync-consumer/src/config.ts";
import { newOrderBody, shopCard } from "../scripts/lib/shop.ts";

type Service = {
  build?: { args?: { APP?: string } };
  environment?: Record<string, string | number>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
};

const compose = parse(readFileSync(new URL("../docker-compose.yml", import.meta.url), "utf8"), {
  merge: true,
}) as {
  services: Record<string, Service>;
};

const apps = {
  "ingest-gateway": { schema: gatewaySchema, portVar: "PORT" },
  "stripe-writer": { schema: writerSchema, portVar: "OPS_PORT" },
  "sync-consumer": { schema: syncSchema, portVar: "OPS_PORT" },
  "stripe-emulator": { schema: emulatorSchema, portVar: "PORT" },
} as const;

const asEnv = (environment: Service["environment"] = {}) =>
  Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value)]));

describe("docker-compose.yml", () => {
  it("runs Kafka 4 in KRaft mode, Postgres 17 and a migration one-shot", () => {
    expect(compose.services.kafka?.build).toBeUndefined();
    expect((compose.services.kafka as { image: string }).image).toMatch(/^apache\/kafka:4\./);
    expect(compose.services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect((compose.services.postgres as { image: string }).image).toBe("postgres:17");
    expect(compose.services.migrate?.command).toEqual(["node", "scripts/migrate.ts", "--load-catalog"]);
  });

  for (const [name, { schema, portVar }] of Object.entries(apps)) {
    describe(name, () => {
      const service = compose.services[name];

      it("is built from the shared Dockerfile with its own APP", () => {
        expect(service?.build?.args?.APP).toBe(name);
      });

      it("has an environment its config schema accepts", () => {
        const result = schema.safeParse(asEnv(service?.environment));
        expect(result.success ? [] : result.error.issues.map((issue) => issue.path.join("."))).toEqual([]);
      });

      it("publishes and health-checks the port the app listens on", () => {
        const parsed = schema.parse(asEnv(service?.environment)) as Record<string, unknown>;
        const port = String(parsed[portVar]);
        expect(service?.ports?.map((mapping) => mapping.split(":").at(-1))).toContain(port);
        expect(service?.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${port}/`);
      });

      it("waits for healthy dependencies", () => {
        for (const dependency of Object.values(service?.depends_on ?? {})) {
          expect(["service_healthy", "service_completed_successfully"]).toContain(dependency.condition);
        }
      });
    });
  }
});

const root = new URL("..", import.meta.url).pathname;

if (await dockerEngineAvailable()) {
  describe("docker compose (a Docker engine answered)", () => {
    it("builds the image, starts the stack and applies an order priced from the demo catalog", async () => {
      const project = `bridge-test-${randomUUID().slice(0, 8)}`;
      const compose = (...args: string[]) =>
        execFileSync("docker", ["compose", "-p", project, ...args], {
          cwd: root,
          stdio: "pipe",
          timeout: 900_000,
        });
      try {
        compose("up", "--build", "--detach", "--wait");
        const { stripe } = createStripeClient({
          secretKey: "sk_test_local_emulator",
          apiUrl: "http://127.0.0.1:12111",
          ratePerSecond: 100,
        });
        const email = `compose.${randomUUID()}@example.com`;
        const response = await fetch("http://127.0.0.1:8080/api/orders", {
          method: "POST",
          headers: { authorization: "Bearer local-dev-key-change-me", "content-type": "application/json" },
          body: JSON.stringify({
            ...newOrderBody(email, await shopCard(stripe)),
            external_id: `compose-${randomUUID()}`,
            process_immediately: true,
          }),
        });
        expect(await response.json()).toMatchObject({ status: "applied" });
      } finally {
        compose("down", "--volumes", "--remove-orphans");
      }
    }, 1_200_000);
  });
} else {
  console.log(
    "[compose.test] no Docker engine answered: the image build and compose journey do not apply here",
  );
}
