import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, keys, startTestGateway, type TestGateway } from "../../test/support.ts";

// The store behind the gateway does not answer (stopped, restarting): reads and order look-ups
// fail at the connection, which must be a 503 the client retries, not an internal error.
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    databaseUrl: "postgresql://nobody@127.0.0.1:1/down",
    config: { RETRY_AFTER_SECONDS: "7" },
  });
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

describe("the Limio store unavailable", () => {
  it("answers 503 store_unavailable with Retry-After, in the one error shape", async () => {
    const response = await gw.app.inject({
      method: "GET",
      url: "/api/subscriptions/sub-0123456789abcdef0123456789abcdef",
      headers: bearer(keys.reader),
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("7");
    expect(response.json()).toEqual({
      error: { code: "store_unavailable", message: "the subscription store is unavailable; retry later" },
    });
  });
});
