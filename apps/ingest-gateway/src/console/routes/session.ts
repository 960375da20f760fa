import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { errorResponses, HttpError } from "../../http-errors.ts";
import { CONSOLE_API, type ConsoleDeps, security } from "../deps.ts";
import { sessionCookie } from "../session.ts";

const sessionView = z.object({ operator: z.string().meta({ description: "The ops API key's name" }) }).meta({
  id: "ConsoleSession",
});

/** Log in with an ops-scoped API key (in the body, never the URL), see who is logged in, log out. */
export const sessionRoutes: FastifyPluginAsyncZod<{ deps: ConsoleDeps }> = async (app, { deps }) => {
  app.post(
    `${CONSOLE_API}/session`,
    {
      schema: {
        tags: ["console"],
        summary: "Log into the operator console",
        description:
          "Exchanges an API key with the `ops` scope for an HttpOnly, SameSite=Strict session cookie " +
          "(`bridge_console`, 8 hours, signed with that key). The key is never stored or logged.",
        body: z.object({ apiKey: z.string().min(1).max(512) }),
        response: { 200: sessionView, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const result = deps.sessions.login(request.body.apiKey);
      if (!result.ok && result.reason === "invalid")
        throw new HttpError(401, "unauthenticated", "invalid API key");
      if (!result.ok) throw new HttpError(403, "forbidden", "this API key lacks the 'ops' scope");
      request.log.info({ operator: result.name }, "console login");
      reply.header("set-cookie", sessionCookie(result.token, { secure: request.protocol === "https" }));
      return { operator: result.name };
    },
  );

  app.get(
    `${CONSOLE_API}/session`,
    {
      onRequest: deps.authenticate,
      schema: {
        tags: ["console"],
        summary: "Who is logged into the console",
        security,
        response: { 200: sessionView, ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ operator: request.apiKeyName }),
  );

  app.delete(
    `${CONSOLE_API}/session`,
    {
      schema: {
        tags: ["console"],
        summary: "Log out of the console (clears the session cookie)",
        response: { 200: z.object({ loggedOut: z.literal(true) }).describe("Logged out") },
      },
    },
    async (request, reply) => {
      reply.header("set-cookie", sessionCookie("", { secure: request.protocol === "https", maxAgeMs: 0 }));
      return { loggedOut: true as const };
    },
  );
};
