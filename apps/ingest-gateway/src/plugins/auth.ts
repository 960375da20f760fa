import { hash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { ApiKey, ApiScope } from "../config.ts";
import { HttpError } from "../http-errors.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** An onRequest hook admitting only callers whose API key has `scope`. */
    requireScope(scope: ApiScope): (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    /** Name (never the key) of the API key that authenticated the request. */
    apiKeyName: string;
  }
}

const digest = (value: string) => hash("sha256", value, "buffer");

/**
 * Finds the key whose SHA-256 equals the presented one. Comparing fixed-length hashes with
 * timingSafeEqual, and always comparing against every key, keeps the time independent of how
 * much of a key matched and of which key matched.
 */
export function createKeyMatcher(keys: ApiKey[]) {
  const hashed = keys.map((key) => ({ key, hash: digest(key.key) }));
  return (presented: string): ApiKey | undefined => {
    const candidate = digest(presented);
    let found: ApiKey | undefined;
    for (const entry of hashed) {
      if (timingSafeEqual(entry.hash, candidate) && !found) found = entry.key;
    }
    return found;
  };
}

/** `Authorization: Bearer <key>` (Limio's scheme); `X-API-Key: <key>` is accepted too. */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  const apiKey = request.headers["x-api-key"];
  return typeof apiKey === "string" && apiKey.length > 0 ? apiKey : undefined;
}

export const authPlugin = fp(
  async (app: FastifyInstance, options: { keys: ApiKey[] }) => {
    const match = createKeyMatcher(options.keys);
    app.decorateRequest("apiKeyName", "");
    app.decorate("requireScope", (scope: ApiScope) => async (request: FastifyRequest) => {
      const presented = presentedKey(request);
      const challenge = { "WWW-Authenticate": `Bearer realm="ingest-gateway", scope="${scope}"` };
      if (!presented) {
        throw new HttpError(401, "unauthenticated", "missing API key: send Authorization: Bearer <key>", {
          headers: challenge,
        });
      }
      const key = match(presented);
      if (!key) throw new HttpError(401, "unauthenticated", "invalid API key", { headers: challenge });
      if (!key.scopes.includes(scope)) {
        throw new HttpError(403, "forbidden", `this API key lacks the '${scope}' scope`);
      }
      request.apiKeyName = key.name;
    });
  },
  { name: "auth" },
);
