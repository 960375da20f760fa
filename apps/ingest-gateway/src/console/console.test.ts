import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  seedSubscription,
  startTestGateway,
  startTopicReader,
  type TestGateway,
} from "../../test/support.ts";
import { createConsoleSessions } from "./session.ts";

const opsKey = "operator-key-0123456789abcdef";
const API_KEYS = `shop:${keys.shop}:orders,ops:${keys.ops}:sync,operator:${opsKey}:ops+read`;

let gw: TestGateway;
let syncs: Awaited<ReturnType<typeof startTopicReader>>;
beforeAll(async () => {
  gw = await startTestGateway({ config: { API_KEYS } });
  syncs = await startTopicReader(gw.client, gw.topics.sync);
}, 120_000);
afterAll(async () => {
  await syncs?.stop();
  await gw?.close();
});

const login = (apiKey: string) =>
  gw.app.inject({ method: "POST", url: "/console/api/session", payload: { apiKey } });

async function sessionCookie(): Promise<string> {
  const response = await login(opsKey);
  expect(response.statusCode).toBe(200);
  return String(response.headers["set-cookie"]).split(";")[0]!;
}

describe("console login", () => {
  it("sets an HttpOnly, SameSite=Strict session cookie that does not contain the key", async () => {
    const response = await login(opsKey);
    expect(response.json()).toEqual({ operator: "operator" });
    const cookie = String(response.headers["set-cookie"]);
    expect(cookie).toMatch(
      /^bridge_console=[^;]+; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
    expect(cookie).not.toContain(opsKey);
    expect(cookie).not.toContain(Buffer.from(opsKey).toString("base64url"));
  });

  it("refuses a wrong key (401) and a key without the ops scope (403)", async () => {
    expect((await login("not-a-key-0123456789abcdef")).statusCode).toBe(401);
    expect((await login(keys.ops)).statusCode).toBe(403);
    expect((await login(keys.shop)).statusCode).toBe(403);
  });

  it("admits the session cookie or an ops key, and nothing else", async () => {
    const cookie = await sessionCookie();
    const asCookie = await gw.app.inject({ method: "GET", url: "/console/api/session", headers: { cookie } });
    expect(asCookie.json()).toEqual({ operator: "operator" });
    const asKey = await gw.app.inject({ method: "GET", url: "/console/api/orders", headers: bearer(opsKey) });
    expect(asKey.statusCode).toBe(200);
    // A character well inside the signature: the last one of a base64url string may carry only padding bits.
    const at = cookie.length - 10;
    const forged = `${cookie.slice(0, at)}${cookie[at] === "A" ? "B" : "A"}${cookie.slice(at + 1)}`;
    for (const headers of [{}, { cookie: forged }, bearer(keys.ops)]) {
      const response = await gw.app.inject({ method: "GET", url: "/console/api/orders", headers });
      expect(response.statusCode, JSON.stringify(headers)).toBeGreaterThanOrEqual(401);
      expect(response.statusCode).toBeLessThanOrEqual(403);
    }
  });

  it("expires sessions and ends them when the key loses its ops scope", () => {
    let now = 1_000;
    const sessions = createConsoleSessions([{ name: "operator", key: opsKey, scopes: ["ops"] }], () => now);
    const result = sessions.login(opsKey);
    if (!result.ok) throw new Error("login failed");
    expect(sessions.verify(result.token)).toBe("operator");
    const rotated = createConsoleSessions(
      [{ name: "operator", key: `${opsKey}-new`, scopes: ["ops"] }],
      () => now,
    );
    expect(rotated.verify(result.token)).toBeUndefined();
    const demoted = createConsoleSessions([{ name: "operator", key: opsKey, scopes: ["read"] }], () => now);
    expect(demoted.verify(result.token)).toBeUndefined();
    now += 8 * 3600 * 1000 + 1;
    expect(sessions.verify(result.token)).toBeUndefined();
  });
});

describe("console data and actions", () => {
  it("filters orders by status, type and source, and shows a failed order's reason in its timeline", async () => {
    const sub = await seedSubscription(gw.store);
    const base = {
      type: "cancel_subscription",
      subscriptionId: sub.id,
      payload: { order_type: "cancel_subscription" },
    };
    const failedId = `order-${"f".repeat(31)}1`;
    await gw.store.db.order.createMany({
      data: [
        {
          ...base,
          id: failedId,
          reference: "FAILEDREF001",
          source: "console-test",
          status: "failed",
          outcome: {
            status: "failed",
            action: "none",
            stripe: { subscriptionId: "sub_Q1" },
            error: { code: "card_declined", message: "Your card was declined." },
            clientSecret: { type: "payment_intent", value: "pi_secret_never_shown" },
          },
        },
        {
          ...base,
          id: `order-${"a".repeat(31)}1`,
          reference: "APPLIEDREF01",
          source: "console-test",
          status: "applied",
        },
      ],
    });
    const cookie = await sessionCookie();
    const list = await gw.app.inject({
      method: "GET",
      url: "/console/api/orders?status=failed&source=console-test&type=cancel_subscription",
      headers: { cookie },
    });
    expect(list.json().orders.map((o: { id: string }) => o.id)).toEqual([failedId]);
    expect(list.json().orders[0].error).toEqual({
      code: "card_declined",
      message: "Your card was declined.",
    });

    const detail = await gw.app.inject({
      method: "GET",
      url: `/console/api/orders/${failedId}`,
      headers: { cookie },
    });
    const stages = detail
      .json()
      .timeline.map((e: { stage: string; title: string }) => `${e.stage}: ${e.title}`);
    expect(stages).toEqual([
      "request: cancel_subscription order received from console-test",
      "stripe: Writer outcome: failed (none)",
    ]);
    expect(detail.body).not.toContain("pi_secret_never_shown");
  });

  it("shows Limio beside Stripe's last-synced JSON and flags fields that differ", async () => {
    const sub = await seedSubscription(gw.store);
    await gw.store.db.subscription.update({
      where: { id: sub.id },
      data: {
        stripeStatus: "active",
        stripeRaw: { id: sub.stripeSubscriptionId, status: "past_due", customer: sub.stripeCustomerId },
        lastSyncedAt: new Date(),
      },
    });
    const response = await gw.app.inject({
      method: "GET",
      url: `/console/api/subscriptions/${sub.id}`,
      headers: bearer(opsKey),
    });
    expect(response.statusCode).toBe(200);
    const view = response.json();
    expect(view.limio).toMatchObject({ id: sub.id, status: "active" });
    expect(view.stripe.raw).toMatchObject({ status: "past_due" });
    const byField = Object.fromEntries(
      view.comparison.map((r: { field: string; agrees: boolean }) => [r.field, r.agrees]),
    );
    expect(byField).toMatchObject({
      "Stripe subscription": true,
      Customer: true,
      "Status (Stripe's, as recorded)": false,
    });
  });

  it("resync publishes the Sync API's message with reason operator and audits the operator's name", async () => {
    const sub = await seedSubscription(gw.store);
    const cookie = await sessionCookie();
    const url = `/console/api/subscriptions/${sub.id}/resync`;
    const withoutHeader = await gw.app.inject({ method: "POST", url, headers: { cookie } });
    expect(withoutHeader.statusCode).toBe(403);

    const response = await gw.app.inject({
      method: "POST",
      url,
      headers: { cookie, "x-bridge-console": "1" },
    });
    expect(response.statusCode).toBe(202);
    const { messageId } = response.json();
    const message = await syncs.find((m) => m.envelope.id === messageId);
    expect(message).toMatchObject({
      key: sub.id,
      envelope: {
        type: "limio.sync.requested",
        data: { subscriptionId: sub.id, reason: "operator", requestId: messageId },
      },
    });
    const audit = await gw.store.db.event.findMany({
      where: { subscriptionId: sub.id, type: "console.resync_requested" },
    });
    expect(audit).toEqual([
      expect.objectContaining({ source: "operator", causeId: messageId, changes: { operator: "operator" } }),
    ]);
  });

  it("serves the page with a strict content security policy, and documents the JSON routes", async () => {
    const page = await gw.app.inject({ method: "GET", url: "/console" });
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    const spec = (await gw.app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        "/console/api/session",
        "/console/api/orders",
        "/console/api/orders/{id}",
        "/console/api/subscriptions/{id}",
        "/console/api/subscriptions/{id}/resync",
        "/console/api/dlq",
        "/console/api/dlq/{topic}/redrive",
        "/console/api/lag",
        "/console/api/drift",
      ]),
    );
    expect(spec.paths["/console"]).toBeUndefined();
  });
});
