import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Harness,
  type Json,
  json,
  startHarness,
  stripeFor,
  TEST_KEY,
} from "../../test/contract-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.http("POST", "/_emulator/reset");
  await h.http("PUT", "/_emulator/settings", {
    body: JSON.stringify({ rateLimitPerSecond: 0 }),
    headers: { "content-type": "application/json" },
  });
});

describe("HTTP conventions", () => {
  it("rejects a missing or malformed key with 401 (SDK: StripeAuthenticationError)", async () => {
    const bad = new Stripe("not_a_key", {
      host: "127.0.0.1",
      port: h.emu.port,
      protocol: "http",
      maxNetworkRetries: 0,
    });
    const error = await bad.customers.list().catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
    const raw = await fetch(`${h.emu.url}/v1/customers`);
    expect(raw.status).toBe(401);
    const body = await json(raw);
    expect(body.error.message).toMatch(/You did not provide an API key/);
  });

  it("echoes Stripe-Version and sets Request-Id on every response", async () => {
    const res = await h.http("GET", "/v1/customers", { headers: { "stripe-version": "2026-10-28.endive" } });
    expect(res.headers.get("stripe-version")).toBe("2026-10-28.endive");
    expect(res.headers.get("request-id")).toMatch(/^req_\w{14}$/);
    const customer = await h.stripe.customers.create({ email: "a@example.com" });
    expect(customer.lastResponse.requestId).toMatch(/^req_/);
  });

  it("answers unknown objects with 404 resource_missing and Stripe's error shape", async () => {
    const error = await h.stripe.customers.retrieve("cus_doesnotexist").catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe("resource_missing");
    expect(error.param).toBe("id");
    expect(error.message).toBe("No such customer: 'cus_doesnotexist'");
    const raw = await json(await h.http("GET", "/v1/customers/cus_nope"));
    expect(Object.keys(raw.error)).toEqual(
      expect.arrayContaining(["type", "code", "param", "message", "doc_url"]),
    );
  });

  it("answers unknown URLs with 404 invalid_request_error", async () => {
    const res = await h.http("GET", "/v1/nothing_here");
    expect(res.status).toBe(404);
    expect((await json(res)).error.message).toMatch(/Unrecognized request URL \(GET: \/v1\/nothing_here\)/);
  });

  it("rejects parameters the endpoint does not take with 400 parameter_unknown", async () => {
    const error = await h.stripe.customers
      .create({ email: "x@example.com", favourite_colour: "blue" } as Stripe.CustomerCreateParams)
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.code).toBe("parameter_unknown");
    expect(error.param).toBe("favourite_colour");
    expect(error.message).toBe("Received unknown parameter: favourite_colour");
  });

  it("validates required params with 400 parameter_missing", async () => {
    const error = await h.stripe.prices
      .create({ currency: "usd", unit_amount: 100 } as Stripe.PriceCreateParams)
      .catch((e) => e);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("parameter_missing");
    expect(error.param).toBe("product");
  });
});

describe("idempotency", () => {
  it("replays the stored response for the same key and parameters", async () => {
    const first = await h.stripe.customers.create({ email: "idem@example.com" }, { idempotencyKey: "key-1" });
    const second = await h.stripe.customers.create(
      { email: "idem@example.com" },
      { idempotencyKey: "key-1" },
    );
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
    const list = await h.stripe.customers.list({ email: "idem@example.com" });
    expect(list.data).toHaveLength(1);
  });

  it("refuses the same key with different parameters (400 idempotency_error)", async () => {
    await h.stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: "key-2" });
    const error = await h.stripe.customers
      .create({ email: "b@example.com" }, { idempotencyKey: "key-2" })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/same parameters/);
  });

  it("scopes keys per API key", async () => {
    const other = stripeFor(h.emu.port, "sk_test_anotherAccountKey");
    const a = await h.stripe.customers.create({ email: "a@example.com" }, { idempotencyKey: "shared" });
    const b = await other.customers.create({ email: "b@example.com" }, { idempotencyKey: "shared" });
    expect(b.id).not.toBe(a.id);
  });

  it("replays stored errors too (a declined charge stays declined)", async () => {
    const customer = await h.stripe.customers.create({ email: "x@example.com" });
    const params = {
      amount: 1000,
      currency: "usd",
      customer: customer.id,
      payment_method: "pm_card_chargeDeclined",
      confirm: true,
    };
    const e1 = await h.stripe.paymentIntents.create(params, { idempotencyKey: "pi-1" }).catch((e) => e);
    const e2 = await h.stripe.paymentIntents.create(params, { idempotencyKey: "pi-1" }).catch((e) => e);
    expect(e1.statusCode).toBe(402);
    expect(e2.statusCode).toBe(402);
    expect(e2.headers["idempotent-replayed"]).toBe("true");
    const pis = await h.stripe.paymentIntents.list({ customer: customer.id });
    expect(pis.data).toHaveLength(1);
  });
});

describe("rate limiting and locks", () => {
  // docs.stripe.com/rate-limits: Stripe's libraries do not retry rate-limit 429s; the 429 carries
  // no Stripe-Should-Retry: true (lock timeouts do), so the SDK surfaces it to the caller.
  it("answers 429 rate_limit without Stripe-Should-Retry once the per-second limit is used", async () => {
    await h.http("PUT", "/_emulator/settings", {
      body: JSON.stringify({ rateLimitPerSecond: 3 }),
      headers: { "content-type": "application/json" },
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => h.stripe.customers.list().catch((e) => e)),
    );
    const limited = results.filter((r) => r instanceof Stripe.errors.StripeRateLimitError);
    // 10 at once: even straddling a second boundary, two one-second windows admit at most 6.
    expect(limited.length).toBeGreaterThanOrEqual(4);
    expect(results.length - limited.length).toBeGreaterThanOrEqual(3);
    expect(limited[0]!.code).toBe("rate_limit");
    expect(limited[0]!.statusCode).toBe(429);
    expect(limited[0]!.headers?.["stripe-should-retry"]).toBeUndefined();
  });

  it("limits each endpoint separately (25/s by default on Stripe), counting every id of a route as one", async () => {
    await h.http("PUT", "/_emulator/settings", {
      body: JSON.stringify({ rateLimitPerSecond: 0, endpointRateLimitPerSecond: 2 }),
      headers: { "content-type": "application/json" },
    });
    try {
      const customer = await h.stripe.customers.create({ email: "endpoint@example.com" });
      const other = await h.stripe.customers.create({ email: "endpoint2@example.com" });
      const results = await Promise.all(
        [customer.id, other.id, customer.id, other.id, customer.id, other.id].map((id) =>
          h.stripe.customers.retrieve(id).catch((e) => e),
        ),
      );
      const limited = results.filter((r) => r instanceof Stripe.errors.StripeRateLimitError);
      // Six reads of one route in (at most) two windows of 2: at least two are refused.
      expect(limited.length).toBeGreaterThanOrEqual(2);
      // Another endpoint has its own budget.
      expect((await h.stripe.products.list()).object).toBe("list");
    } finally {
      await h.http("PUT", "/_emulator/settings", {
        body: JSON.stringify({ rateLimitPerSecond: 0, endpointRateLimitPerSecond: 0 }),
        headers: { "content-type": "application/json" },
      });
    }
  });

  it("answers 429 lock_timeout to a concurrent write on the same object", async () => {
    const customer = await h.stripe.customers.create({ email: "lock@example.com" });
    await h.http("PUT", "/_emulator/faults", {
      body: JSON.stringify({ rules: { "POST /v1/customers/:id": { delayMs: 600 } } }),
      headers: { "content-type": "application/json" },
    });
    const [a, b] = await Promise.all([
      h.stripe.customers.update(customer.id, { name: "A" }).catch((e) => e),
      h.stripe.customers.update(customer.id, { name: "B" }).catch((e) => e),
    ]);
    const errors = [a, b].filter((r) => r instanceof Stripe.errors.StripeError);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe("lock_timeout");
    expect(errors[0]!.statusCode).toBe(429);
  });
});

describe("fault injection and request log", () => {
  it("injects seeded 500s per endpoint and logs every request", async () => {
    await h.http("PUT", "/_emulator/faults", {
      body: JSON.stringify({ seed: 7, rules: { "POST /v1/customers": { error500: 1 } } }),
      headers: { "content-type": "application/json" },
    });
    const error = await h.stripe.customers.create({ email: "f@example.com" }).catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.statusCode).toBe(500);
    await h.stripe.customers.list();
    const log = (await json(await h.http("GET", "/_emulator/requests"))).data;
    expect(
      log.map((r: { method: string; path: string; status: number }) => [r.method, r.path, r.status]),
    ).toEqual([
      ["POST", "/v1/customers", 500],
      ["GET", "/v1/customers", 200],
    ]);
    expect(log[0].idempotencyKey).toMatch(/^stripe-node-retry-/);
  });

  it("lets the SDK's own retries recover from injected 500s (not 429s), replaying nothing twice", async () => {
    const retrying = new Stripe(TEST_KEY, {
      host: "127.0.0.1",
      port: h.emu.port,
      protocol: "http",
      maxNetworkRetries: 2,
    });
    await h.http("PUT", "/_emulator/faults", {
      body: JSON.stringify({
        rules: {
          "POST /v1/customers": { error500: 1, limit: 1 },
          "GET /v1/customers": { rateLimit429: 1, limit: 1 },
        },
      }),
      headers: { "content-type": "application/json" },
    });
    const customer = await retrying.customers.create({ email: "retry@example.com" });
    // A rate limit is not retried by the SDK (no Stripe-Should-Retry): the caller sees it.
    const limited = await retrying.customers.list({ email: "retry@example.com" }).catch((e) => e);
    expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    const list = await retrying.customers.list({ email: "retry@example.com" });
    expect(list.data.map((c) => c.id)).toEqual([customer.id]);
    const log = (await json(await h.http("GET", "/_emulator/requests"))).data as Json[];
    const posts = log.filter((r) => r.method === "POST");
    expect(posts.map((r) => r.status)).toEqual([500, 200]);
    expect(posts[0]!.idempotencyKey).toBe(posts[1]!.idempotencyKey);
    expect(log.filter((r) => r.method === "GET").map((r) => r.status)).toEqual([429, 200]);
  });

  it("injects 429s at the configured share, deterministically for a seed", async () => {
    const run = async () => {
      await h.http("POST", "/_emulator/reset");
      await h.http("PUT", "/_emulator/faults", {
        body: JSON.stringify({ seed: 42, rules: { "GET /v1/customers": { rateLimit429: 0.5 } } }),
        headers: { "content-type": "application/json" },
      });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await h.stripe.customers.list().then(
          () => 200,
          (e) => e.statusCode,
        );
        out.push(r);
      }
      return out;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    const limited = first.filter((s) => s === 429).length;
    expect(limited).toBeGreaterThan(8);
    expect(limited).toBeLessThan(32);
  });
});

describe("pagination and expand", () => {
  it("pages newest first with limit / starting_after / ending_before / has_more", async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await h.stripe.customers.create({ email: `p${i}@example.com` }));
    const newestFirst = created.map((c) => c.id).reverse();
    const page1 = await h.stripe.customers.list({ limit: 2 });
    expect(page1.object).toBe("list");
    expect(page1.url).toBe("/v1/customers");
    expect(page1.data.map((c) => c.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.has_more).toBe(true);
    const page2 = await h.stripe.customers.list({ limit: 2, starting_after: page1.data[1]!.id });
    expect(page2.data.map((c) => c.id)).toEqual(newestFirst.slice(2, 4));
    const back = await h.stripe.customers.list({ limit: 2, ending_before: page2.data[0]!.id });
    expect(back.data.map((c) => c.id)).toEqual(newestFirst.slice(0, 2));
    const all: string[] = [];
    for await (const c of h.stripe.customers.list({ limit: 2 })) all.push(c.id);
    expect(all).toEqual(newestFirst);
  });

  it("expands ids into objects, in lists too", async () => {
    const product = await h.stripe.products.create({ name: "Gold" });
    await h.stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 500 });
    const list = await h.stripe.prices.list({ expand: ["data.product"] });
    expect((list.data[0]!.product as Stripe.Product).name).toBe("Gold");
  });
});
