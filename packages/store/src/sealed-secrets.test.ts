import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openSecret, sealSecret, secretKeyFrom } from "./sealed-secrets.ts";

describe("sealed secrets (AES-256-GCM)", () => {
  const key = secretKeyFrom(randomBytes(32).toString("base64"));
  const secret = "in_1Abc_secret_XyZ";

  it("opens with the same key and row, and the sealed form does not contain the secret", () => {
    const sealed = sealSecret(key, secret, "order-1");
    expect(JSON.stringify(sealed)).not.toContain("secret_XyZ");
    expect(openSecret(key, sealed, "order-1")).toBe(secret);
    // A fresh IV each time: the same secret never seals the same way twice.
    expect(sealSecret(key, secret, "order-1").data).not.toBe(sealed.data);
  });

  it("does not open with another key, for another row, or once tampered with", () => {
    const sealed = sealSecret(key, secret, "order-1");
    expect(openSecret(secretKeyFrom(randomBytes(32).toString("base64")), sealed, "order-1")).toBeNull();
    expect(openSecret(key, sealed, "order-2")).toBeNull();
    const flipped = Buffer.from(sealed.data, "base64url");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(openSecret(key, { ...sealed, data: flipped.toString("base64url") }, "order-1")).toBeNull();
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => secretKeyFrom(randomBytes(16).toString("base64"))).toThrow(/32 bytes/);
  });
});
