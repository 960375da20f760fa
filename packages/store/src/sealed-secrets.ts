import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * A secret kept in the store only encrypted (decision 018): AES-256-GCM with a key from the
 * services' configuration (ORDER_SECRET_KEY), a random 96-bit IV per value, and the owning row's
 * id as additional data, so a sealed value copied onto another row does not open.
 */
export type SealedSecret = { alg: "A256GCM"; iv: string; tag: string; data: string };

/** ORDER_SECRET_KEY: 32 random bytes, base64 (`openssl rand -base64 32`). */
export const ORDER_SECRET_KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/;

export function secretKeyFrom(base64: string): Buffer {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32) throw new Error("ORDER_SECRET_KEY must be 32 bytes, base64-encoded");
  return key;
}

export function sealSecret(key: Buffer, plaintext: string, rowId: string): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(rowId, "utf8"));
  const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return {
    alg: "A256GCM",
    iv: iv.toString("base64url"),
    tag: cipher.getAuthTag().toString("base64url"),
    data: data.toString("base64url"),
  };
}

/** The plaintext, or null when the value was sealed with another key or for another row. */
export function openSecret(key: Buffer, sealed: SealedSecret, rowId: string): string | null {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64url"))
      .setAAD(Buffer.from(rowId, "utf8"))
      .setAuthTag(Buffer.from(sealed.tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    return null;
  }
}
