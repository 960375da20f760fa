import { createServer, type IncomingMessage, type Server } from "node:http";
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { defaultConfig, type EmulatorConfig } from "../src/config.ts";
import { type RunningEmulator, startEmulator } from "../src/index.ts";

export const TEST_KEY = "sk_test_emulatorContractSuite";

export type Harness = {
  emu: RunningEmulator;
  stripe: Stripe;
  /** Raw HTTP against the emulator (control routes, header checks). */
  http(
    method: string,
    path: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  stop(): Promise<void>;
};

export function stripeFor(port: number, key = TEST_KEY): Stripe {
  return new Stripe(key, { host: "127.0.0.1", port, protocol: "http", maxNetworkRetries: 0 });
}

export async function startHarness(overrides: Partial<EmulatorConfig> = {}): Promise<Harness> {
  const emu = await startEmulator({
    ...defaultConfig(),
    port: 0,
    logLevel: "silent",
    rateLimitPerSecond: 0,
    ...overrides,
  });
  const stripe = stripeFor(emu.port);
  return {
    emu,
    stripe,
    http: (method, path, init = {}) =>
      fetch(`${emu.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_KEY}`, ...(init.headers ?? {}) },
        ...(init.body !== undefined ? { body: init.body } : {}),
      }),
    stop: () => emu.stop(),
  };
}

/** One emulator for the test file, reset before each test; read `.h` / `.stripe` inside tests. */
export function useHarness(overrides: Partial<EmulatorConfig> = {}): { h: Harness; stripe: Stripe } {
  const context = {} as { h: Harness; stripe: Stripe };
  beforeAll(async () => {
    context.h = await startHarness(overrides);
    context.stripe = context.h.stripe;
  });
  afterAll(async () => {
    await context.h.stop();
  });
  beforeEach(async () => {
    await context.h.http("POST", "/_emulator/reset");
  });
  return context;
}

type ReceivedWebhook = { rawBody: string; signature: string; event: Stripe.Event };

/**
 * A small webhook receiver that verifies every delivery with the SDK's
 * `stripe.webhooks.constructEvent(rawBody, header, secret)` and records it.
 */
export async function startReceiver(stripe: Stripe, options: { failFirst?: number } = {}) {
  const received: ReceivedWebhook[] = [];
  const rejected: string[] = [];
  let secret = "";
  let failuresLeft = options.failFirst ?? 0;
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  const server: Server = createServer(async (req, res) => {
    const rawBody = await readBody(req);
    if (failuresLeft > 0) {
      failuresLeft--;
      res.writeHead(500).end();
      return;
    }
    const signature = String(req.headers["stripe-signature"] ?? "");
    try {
      const event = stripe.webhooks.constructEvent(rawBody, signature, secret);
      received.push({ rawBody, signature, event });
      res.writeHead(200).end("ok");
    } catch (error) {
      rejected.push((error as Error).message);
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    received,
    rejected,
    setSecret(value: string) {
      secret = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Poll a test clock until Stripe reports it `ready` (advance is asynchronous). */
export async function advanceClock(
  stripe: Stripe,
  clockId: string,
  frozenTime: number,
): Promise<Stripe.TestHelpers.TestClock> {
  let clock = await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime });
  while (clock.status === "advancing") {
    await new Promise((resolve) => setImmediate(resolve));
    clock = await stripe.testHelpers.testClocks.retrieve(clockId);
  }
  return clock;
}

// biome-ignore lint/suspicious/noExplicitAny: raw JSON bodies in assertions.
export type Json = Record<string, any>;

export async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}
