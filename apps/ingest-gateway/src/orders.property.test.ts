import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  seedSubscription,
  startTestGateway,
  startTopicReader,
  type TestGateway,
  topicMessageCount,
} from "../test/support.ts";
import { openapiPath } from "./openapi.ts";

// Issue 16, acceptance 2: orders generated from the published OpenAPI schema (valid ones, and ones
// broken in the ways a careless client or an attacker breaks them) posted over HTTP to a gateway
// on real Kafka: never a 5xx, every 2xx in the topic, nothing published for a 4xx.
// (That every 2xx also reaches a final outcome needs the writer: the end-to-end suites cover it.)

type Schema = {
  $ref?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  minLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
};

const document = JSON.parse(readFileSync(openapiPath, "utf8")) as {
  components: { schemas: Record<string, Schema> };
};
const resolve = (schema: Schema): Schema =>
  schema.$ref ? resolve(document.components.schemas[schema.$ref.split("/").at(-1)!]!) : schema;

/** Strings that are valid JSON but that Postgres' JSON cannot hold, or that are merely unusual. */
const nastyString = fc.constantFrom(
  "a\u0000b",
  "\u0000",
  "x\ud800",
  "\udfff",
  "😀",
  "Zoë",
  "",
  " ",
  "x".repeat(10_001),
);

function stringFor(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === "date-time")
    return fc
      .date({ noInvalidDate: true, min: new Date(2000, 0, 1), max: new Date(2099, 0, 1) })
      .map((d) => d.toISOString());
  if (schema.format === "date")
    return fc
      .date({ noInvalidDate: true, min: new Date(2000, 0, 1), max: new Date(2099, 0, 1) })
      .map((d) => d.toISOString().slice(0, 10));
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  return fc.string({ minLength: schema.minLength ?? 0, maxLength: 24 });
}

/** An arbitrary of values that the schema accepts (limits the rest of the system sets may still refuse). */
function fromSchema(input: Schema, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(input);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.oneOf) return fc.oneof(...schema.oneOf.map((s) => fromSchema(s, depth)));
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, depth)));
  switch (schema.type) {
    case "string":
      return stringFor(schema);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({
        min: schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : (schema.minimum ?? -1_000),
        // The edge's MAX_QUANTITY (100) is configuration, not schema: stay mostly within it.
        max: Math.min(schema.maximum ?? 100, 100),
      });
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
    case "array":
      return fc.array(fromSchema(schema.items ?? {}, depth + 1), {
        minLength: schema.minItems ?? 0,
        maxLength: 3,
      });
    case "object": {
      if (depth > 6) return fc.constant({});
      const properties = Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([name, s]) => [name, fromSchema(s, depth + 1)]),
      );
      return fc.record(properties, { requiredKeys: schema.required ?? [] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A generated order broken at one place: a nasty string, a huge number, deep nesting, a wrong type. */
const breakage = fc.oneof(
  nastyString,
  fc.constantFrom(9_007_199_254_740_991, 100_000, -1, 0, 1.5, 1e308),
  fc.constant(null),
  fc.integer({ min: 20, max: 3_000 }).map((depth) => {
    let value: unknown = "bottom";
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  }),
  fc.array(fc.constant({ offer: { id: "o" }, quantity: 1 }), { minLength: 21, maxLength: 200 }),
);

function breakAt(
  order: Record<string, unknown>,
  pathChoice: number,
  value: unknown,
): Record<string, unknown> {
  // Walk into the order along the choices, then replace or add a field there.
  const copy = structuredClone(order);
  let at: Record<string, unknown> = copy;
  let choice = pathChoice;
  for (let depth = 0; depth < 3; depth++) {
    const objects = Object.entries(at).filter(([, v]) => v && typeof v === "object" && !Array.isArray(v));
    if (objects.length === 0 || choice % 3 === 0) break;
    at = objects[choice % objects.length]![1] as Record<string, unknown>;
    choice = Math.floor(choice / 3);
  }
  const names = [...Object.keys(at), "unknownField", "quantity", "amount"];
  at[names[choice % names.length]!] = value;
  return copy;
}

let gw: TestGateway;
let orders: Awaited<ReturnType<typeof startTopicReader>>;
let url: string;
let existingSubscription: { id: string; reference: string };

beforeAll(async () => {
  // No waiting for outcomes (there is no writer here): `process_immediately` orders answer at once.
  gw = await startTestGateway({ config: { WAIT_TIMEOUT_MS: "0" } });
  orders = await startTopicReader(gw.client, gw.topics.orders);
  existingSubscription = await seedSubscription(gw.store);
  url = await gw.app.listen({ port: 0, host: "127.0.0.1" });
}, 120_000);
afterAll(async () => {
  await orders?.stop();
  await gw?.close();
});

describe("orders generated from the OpenAPI schema, posted to a running gateway", () => {
  it("never answer 5xx; every 2xx is in the topic; a 4xx publishes nothing", async () => {
    const orderSchema = document.components.schemas.LimioOrder!;
    const generated = fc
      .tuple(fromSchema(orderSchema), fc.boolean(), fc.boolean(), fc.nat(), breakage)
      .map(([order, useExisting, broken, pathChoice, value]) => {
        let body = order as Record<string, unknown>;
        // Non-new orders mostly aim at a subscription the store knows, so they get past the 404;
        // `forSubscription` names the same one (the domain refuses two that disagree), and so does
        // a `sub_reference` (the gateway refuses another subscription's).
        if (useExisting && body.order_type !== "new") {
          body = { ...body, subscriptionId: existingSubscription.id };
          if (body.sub_reference !== undefined) body.sub_reference = existingSubscription.reference;
        }
        if (body.forSubscription && body.subscriptionId) {
          body = {
            ...body,
            forSubscription: { ...(body.forSubscription as object), id: body.subscriptionId },
          };
        }
        return broken ? breakAt(body, pathChoice, value) : body;
      });

    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    await fc.assert(
      fc.asyncProperty(generated, async (body) => {
        const response = await fetch(`${url}/api/orders`, {
          method: "POST",
          headers: { ...bearer(keys.shop), "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const answer = (await response.json()) as { id?: string; error?: { code: string } };
        expect(response.status, JSON.stringify(answer)).toBeLessThan(500);
        if (response.status < 300) accepted.push(answer.id!);
        else expect(answer.error?.code).toBeTruthy();
      }),
      { numRuns: 300 },
    );

    // Every accepted order is in the topic, and nothing else is: a 4xx published nothing.
    for (const id of accepted) await orders.find((m) => m.envelope.id === id);
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before + accepted.length);
    // The generator reaches both sides: some orders accepted, some refused.
    expect(accepted.length).toBeGreaterThan(10);
    expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
  }, 300_000);
});
