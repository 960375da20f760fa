import { readFileSync } from "node:fs";
import { createLogger } from "@bridge/observability";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { testConfig } from "../test/support.ts";
import { buildGateway } from "./app.ts";
import { generateOpenapi, openapiPath, serialiseOpenapi } from "./openapi.ts";

type Operation = {
  summary?: string;
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  parameters?: { in: string; name: string; schema: unknown }[];
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
};

const committed = () => JSON.parse(readFileSync(openapiPath, "utf8")) as Document;

const expectedOperations: [path: string, method: string, statuses: string[]][] = [
  ["/api/order", "post", ["200", "202", "400", "401", "403", "404", "409", "413", "415", "429", "503"]],
  ["/api/order/preview", "post", ["200", "400", "401", "403", "404", "409", "422", "429", "503"]],
  ["/api/order/{id}", "get", ["200", "400", "401", "403", "404", "429", "503"]],
  [
    "/api/plugins/stripe/sync/subscription/{id}",
    "post",
    ["200", "202", "400", "401", "403", "404", "429", "503"],
  ],
  ["/webhooks/stripe", "post", ["200", "400", "413", "415", "503"]],
  ["/api/subscriptions/{id}", "get", ["200", "400", "401", "403", "404", "429", "503"]],
  ["/api/catalog", "post", ["200", "400", "401", "403", "413", "415", "429", "503"]],
  ["/healthz", "get", ["200"]],
  ["/readyz", "get", ["200", "503"]],
  ["/metrics", "get", ["200"]],
  ["/console/api/session", "post", ["200", "400", "401", "403"]],
  ["/console/api/session", "get", ["200", "401", "403"]],
  ["/console/api/session", "delete", ["200"]],
  ["/console/api/orders", "get", ["200", "400", "401", "403"]],
  ["/console/api/orders/{id}", "get", ["200", "401", "403", "404"]],
  ["/console/api/subscriptions/{id}", "get", ["200", "400", "401", "403", "404"]],
  ["/console/api/subscriptions/{id}/resync", "post", ["202", "400", "401", "403", "404", "503"]],
  ["/console/api/dlq", "get", ["200", "401", "403"]],
  ["/console/api/dlq/{topic}/redrive", "post", ["200", "400", "401", "403", "404"]],
  ["/console/api/lag", "get", ["200", "401", "403"]],
  ["/console/api/drift", "get", ["200", "401", "403"]],
];

describe("OpenAPI document", () => {
  it("is committed and matches what the routes generate (run `npm run openapi -w apps/ingest-gateway`)", async () => {
    const generated = serialiseOpenapi(await generateOpenapi());
    expect(readFileSync(openapiPath, "utf8")).toBe(generated);
  });

  it("is OpenAPI 3.1 with every route, its request and response schemas", () => {
    const doc = committed();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(Object.keys(doc.paths).sort()).toEqual(
      [...new Set(expectedOperations.map(([path]) => path))].sort(),
    );
    for (const [path, method, statuses] of expectedOperations) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation!.summary, `${method} ${path} summary`).toBeTruthy();
      expect(Object.keys(operation!.responses).sort(), `${method} ${path} statuses`).toEqual(
        [...statuses].sort(),
      );
      for (const [status, response] of Object.entries(operation!.responses)) {
        expect(response.description, `${method} ${path} ${status}`).toBeTruthy();
        const content = Object.values(response.content ?? {});
        expect(content.length, `${method} ${path} ${status} content`).toBeGreaterThan(0);
        for (const media of content) expect(media.schema).toBeTruthy();
      }
    }
    for (const path of ["/api/order", "/webhooks/stripe"]) {
      expect(doc.paths[path]!.post!.requestBody!.content["application/json"]!.schema).toBeTruthy();
    }
    for (const [path, method] of [
      ["/api/order", "post"],
      ["/api/order/{id}", "get"],
      ["/api/plugins/stripe/sync/subscription/{id}", "post"],
      ["/api/subscriptions/{id}", "get"],
    ] as const) {
      expect(doc.paths[path]![method]!.security).toEqual([{ bearerAuth: [] }]);
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const params = doc.paths["/api/plugins/stripe/sync/subscription/{id}"]!.post!.parameters!;
    expect(params).toEqual(expect.arrayContaining([expect.objectContaining({ in: "path", name: "id" })]));
  });

  it("has valid JSON Schema 2020-12 schemas whose examples validate, and every $ref resolves", () => {
    const doc = committed();
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.match(/#\/components\/schemas\/([^"]+)/)?.[1];
      expect(name && doc.components.schemas[name], ref).toBeTruthy();
    }
    let examples = 0;
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      const validate = ajv.compile({ ...schema, components: doc.components });
      for (const example of (schema.examples as unknown[] | undefined) ?? []) {
        examples++;
        expect(validate(example), `${name} example: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
    }
    expect(examples).toBeGreaterThanOrEqual(8);
    // The error shape really is enforced by its schema.
    const error = ajv.compile({ ...doc.components.schemas.Error, components: doc.components });
    expect(error({ error: { code: "x", message: "y" } })).toBe(true);
    expect(error({ message: "y" })).toBe(false);
  });

  it("declares what the gateway enforces: email formats, the webhook's Stripe-Signature header and its 400", () => {
    const doc = committed();
    const order = JSON.stringify(doc.components.schemas.LimioOrder);
    for (const details of ["customerDetails", "billingDetails"]) {
      const at = order.indexOf(`"${details}"`);
      expect(at, details).toBeGreaterThan(-1);
      expect(order.slice(at, order.indexOf('"email"', at) + 200), `${details}.email`).toContain(
        '"format":"email"',
      );
    }
    const webhook = doc.paths["/webhooks/stripe"]!.post!;
    expect(webhook.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: "header", name: "stripe-signature", required: true }),
      ]),
    );
    expect(webhook.responses["400"]!.description).toMatch(/signature/);
  });

  it("answers 405 with Allow, not 404, for every method a documented path does not declare", async () => {
    const doc = committed();
    const app = await buildGateway({
      config: testConfig(),
      logger: createLogger("test", { level: "silent" }),
      producer: {} as never,
      store: { db: {} as never, sql: async () => [], ping: async () => true },
    });
    const methods = ["get", "post", "put", "patch", "delete", "options"] as const;
    let checked = 0;
    for (const [path, operations] of Object.entries(doc.paths)) {
      const url = path.replaceAll(/\{[^}]+\}/g, "x1");
      const declared = Object.keys(operations).map((m) => m.toUpperCase());
      // A concrete path another template also matches is that route's for its methods
      // (GET /api/order/preview is GET /api/order/{id} with the id "preview").
      const servedElsewhere = (method: string) =>
        Object.entries(doc.paths).some(
          ([other, ops]) =>
            other !== path &&
            method in ops &&
            new RegExp(`^${other.replaceAll(/\{[^}]+\}/g, "[^/]+")}$`).test(url),
        );
      for (const method of methods.filter((m) => !(m in operations) && !servedElsewhere(m))) {
        const response = await app.inject({ method: method.toUpperCase() as "GET", url });
        expect(response.statusCode, `${method} ${path}`).toBe(405);
        const allow = String(response.headers.allow).split(", ");
        expect(allow, `${method} ${path} Allow`).toEqual(expect.arrayContaining(declared));
        expect(allow).not.toContain(method.toUpperCase());
        expect(response.json().error.code).toBe("method_not_allowed");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
    // The alias answers the same way, and a path the gateway does not serve is still 404.
    const alias = await app.inject({ method: "DELETE", url: "/api/orders" });
    expect([alias.statusCode, alias.headers.allow]).toEqual([405, "POST"]);
    expect((await app.inject({ method: "GET", url: "/api/nothing-here" })).statusCode).toBe(404);
    await app.close();
  });

  it("is served at /openapi.json and rendered by Swagger UI at /docs", async () => {
    const app = await buildGateway({
      config: testConfig(),
      logger: createLogger("test", { level: "silent" }),
      producer: {} as never,
      store: { db: {} as never, sql: async () => [], ping: async () => true },
    });
    const spec = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(spec.statusCode).toBe(200);
    expect(spec.json()).toEqual(committed());
    const docs = await app.inject({ method: "GET", url: "/docs" });
    const page =
      docs.statusCode === 302
        ? await app.inject({ method: "GET", url: docs.headers.location as string })
        : docs;
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.body).toContain("swagger-ui");
    await app.close();
  });
});
