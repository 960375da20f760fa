import { createHmac, timingSafeEqual } from "node:crypto";
import type { ApiKey } from "../config.ts";
import { createKeyMatcher } from "../plugins/auth.ts";

export const SESSION_COOKIE = "bridge_console";
/** A console session lasts a working day; the operator logs in again after it. */
const SESSION_TTL_MS = 8 * 3600 * 1000;

const b64 = (value: string) => Buffer.from(value, "utf8").toString("base64url");
const unb64 = (value: string) => Buffer.from(value, "base64url").toString("utf8");

/**
 * Console sessions without server state: the cookie is `<key name>.<expiry>.<HMAC>`, signed with
 * the operator's own API key. The key never leaves the server after login; a session works on
 * every gateway replica; rotating or removing the key ends its sessions at once.
 */
export function createConsoleSessions(keys: ApiKey[], now: () => number = Date.now) {
  const opsKeys = keys.filter((key) => key.scopes.includes("ops"));
  const match = createKeyMatcher(keys);
  const sign = (key: ApiKey, payload: string) => createHmac("sha256", key.key).update(payload).digest();

  return {
    /** The key's name and a session token, or why the key cannot open the console. */
    login(
      presented: string,
    ): { ok: true; name: string; token: string } | { ok: false; reason: "invalid" | "scope" } {
      const key = match(presented);
      if (!key) return { ok: false, reason: "invalid" };
      if (!key.scopes.includes("ops")) return { ok: false, reason: "scope" };
      const payload = `${b64(key.name)}.${now() + SESSION_TTL_MS}`;
      return { ok: true, name: key.name, token: `${payload}.${sign(key, payload).toString("base64url")}` };
    },
    /** The operator key's name when the token is genuine, unexpired and its key still has `ops`. */
    verify(token: string | undefined): string | undefined {
      const [name64, expiry, mac] = (token ?? "").split(".");
      if (!name64 || !expiry || !mac || !/^\d+$/.test(expiry) || Number(expiry) <= now()) return undefined;
      const name = unb64(name64);
      const key = opsKeys.find((candidate) => candidate.name === name);
      if (!key) return undefined;
      const expected = sign(key, `${name64}.${expiry}`);
      const given = Buffer.from(mac, "base64url");
      return given.length === expected.length && timingSafeEqual(given, expected) ? name : undefined;
    },
  };
}

export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** HttpOnly (scripts cannot read it), SameSite=Strict (no cross-site requests carry it), /console only. */
export function sessionCookie(token: string, options: { secure: boolean; maxAgeMs?: number }): string {
  const maxAge = Math.floor((options.maxAgeMs ?? SESSION_TTL_MS) / 1000);
  return [
    `${SESSION_COOKIE}=${token}`,
    "Path=/console",
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${maxAge}`,
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}
