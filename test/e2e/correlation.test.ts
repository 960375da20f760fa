// One order's correlation id followed through the logs: the services run as separate processes
// (scripts/run-local.ts) at LOG_LEVEL=info; an order submitted with `x-correlation-id` must show
// that id on the gateway's, the writer's and the sync-consumer's JSON log lines, and no log line
// may carry the API key or the webhook secret.
import { randomUUID } from "node:crypto";
import { createStripeClient } from "@bridge/stripe-client";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { newOrderBody, shopCard } from "../../scripts/lib/shop.ts";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({
    env: { KAFKA_BROKERS: kafkaBrokers().join(","), DATABASE_URL: await freshDatabase("e2e-correlation") },
    logLevel: "info",
  });
}, 150_000);
afterAll(async () => {
  expect(await stack?.stop()).toBe(0);
}, 60_000);

type LogLine = Record<string, unknown> & { service?: string; correlationId?: string; msg?: string };

/** The services' JSON log lines; the run script's banner and other plain text are skipped. */
function logLines(output: string): { raw: string; line: LogLine }[] {
  const lines: { raw: string; line: LogLine }[] = [];
  for (const raw of output.split("\n")) {
    if (!raw.startsWith("{")) continue;
    try {
      lines.push({ raw, line: JSON.parse(raw) as LogLine });
    } catch {
      // not a log line
    }
  }
  return lines;
}

describe("correlation id across gateway, writer and sync-consumer logs", () => {
  it("puts the order's x-correlation-id on every service's lines for it", async () => {
    const correlationId = randomUUID();
    const { stripe } = createStripeClient({
      secretKey: "sk_test_correlation",
      apiUrl: stack.stripeApiUrl,
      ratePerSecond: 1000,
    });
    const paymentMethod = await shopCard(stripe);
    const email = `correlation.${correlationId.slice(0, 8)}@example.com`;
    const headers = { authorization: `Bearer ${stack.apiKey}` };

    const response = await fetch(`${stack.gatewayUrl}/api/orders`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "x-correlation-id": correlationId },
      body: JSON.stringify({
        ...newOrderBody(email, paymentMethod),
        process_immediately: true,
        external_id: `correlation-${randomUUID()}`,
      }),
    });
    const answer = (await response.json()) as { status?: string; subscriptionId?: string; id?: string };
    expect(response.status, JSON.stringify(answer)).toBeLessThan(300);
    expect(response.headers.get("x-correlation-id")).toBe(correlationId);
    expect(answer.status).toBe("applied");
    const subscriptionId = String(answer.subscriptionId);

    // The sync-consumer creates and syncs the Limio subscription asynchronously.
    const deadline = Date.now() + 45_000;
    let status: string | undefined;
    while (Date.now() < deadline) {
      const r = await fetch(`${stack.gatewayUrl}/api/subscriptions/${subscriptionId}`, { headers });
      if (r.ok) status = ((await r.json()) as { status?: string }).status;
      else await r.body?.cancel();
      if (status === "active") break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(status, "the Limio subscription never became active").toBe("active");

    // The lines may reach the stack's stdout a moment after the effects they describe.
    const services = ["ingest-gateway", "stripe-writer", "sync-consumer"];
    const byService = () => {
      const found = new Map<string, LogLine[]>();
      for (const { line } of logLines(stack.output())) {
        if (line.correlationId !== correlationId || typeof line.service !== "string") continue;
        found.set(line.service, [...(found.get(line.service) ?? []), line]);
      }
      return found;
    };
    const until = Date.now() + 10_000;
    let found = byService();
    while (!services.every((s) => found.has(s)) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      found = byService();
    }
    const summary = JSON.stringify(
      Object.fromEntries([...found].map(([service, lines]) => [service, lines.map((l) => l.msg)])),
    );
    for (const service of services) expect(found.has(service), `${service} in ${summary}`).toBe(true);

    const messages = (service: string) => (found.get(service) ?? []).map((l) => l.msg);
    expect(messages("ingest-gateway")).toEqual(
      expect.arrayContaining(["order accepted", "request completed"]),
    );
    expect(found.get("ingest-gateway")?.find((l) => l.msg === "order accepted")).toMatchObject({
      orderId: answer.id,
      subscriptionId,
    });
    expect(found.get("stripe-writer")?.find((l) => l.msg === "order applied")).toMatchObject({
      orderId: answer.id,
      orderType: "new",
      status: "applied",
    });
    const syncLines = (found.get("sync-consumer") ?? []).filter((l) => l.msg === "sync applied");
    expect(syncLines.length, summary).toBeGreaterThan(0);
    expect(syncLines[0]).toMatchObject({ subscriptionId });

    // No log line (any service, any correlation) carries the API key or a webhook secret.
    const leaks = logLines(stack.output()).filter(
      ({ raw }) => raw.includes(stack.apiKey) || raw.includes("whsec_"),
    );
    expect(leaks.map((l) => l.raw)).toEqual([]);
  }, 120_000);
});
