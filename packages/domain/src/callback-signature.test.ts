import { describe, expect, it } from "vitest";
import { signCallback, verifyCallbackSignature } from "./callback-signature.ts";

describe("callback signature (Stripe's t=…,v1=… scheme)", () => {
  const body = '{"id":"1","type":"limio.order.outcome"}';
  const header = signCallback("secret-of-the-tenant", body, 1_800_000_000);

  it("verifies the signed body within the tolerance, and nothing else", () => {
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    const verify = (b: string, h: string, secret = "secret-of-the-tenant", now = 1_800_000_100) =>
      verifyCallbackSignature(secret, b, h, { now });
    expect(verify(body, header)).toBe(true);
    expect(verify(`${body} `, header)).toBe(false);
    expect(verify(body, header, "another-secret")).toBe(false);
    expect(verify(body, header, undefined, 1_800_000_301)).toBe(false); // replayed after 300 s
    expect(verify(body, header.replace("t=1800000000", "t=1800000001"))).toBe(false);
    expect(verify(body, "v1=00")).toBe(false);
  });
});
