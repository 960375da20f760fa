import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signature of the order-outcome callback (docs/decisions/017), Stripe's webhook scheme with our
 * header name: `Limio-Bridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The timestamp in the signed payload lets a receiver refuse replays older than its tolerance.
 */
export const callbackSignatureHeader = "Limio-Bridge-Signature";

const hmac = (secret: string, timestamp: number, body: string) =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex");

export function signCallback(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/** True when `header` signs `body` with `secret` and its timestamp is within `toleranceSeconds` of `now`. */
export function verifyCallbackSignature(
  secret: string,
  body: string,
  header: string,
  options: { now: number; toleranceSeconds?: number },
): boolean {
  const parts = new Map(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const timestamp = Number(parts.get("t"));
  const given = parts.get("v1");
  if (!Number.isInteger(timestamp) || !given) return false;
  if (Math.abs(options.now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), "hex");
  const actual = Buffer.from(given, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
