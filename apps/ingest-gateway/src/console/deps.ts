import type { KafkaClient } from "@bridge/messaging";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RouteDeps } from "../deps.ts";
import type { ConsoleSessions } from "./session.ts";

/** What the console's route plugins share. */
export type ConsoleDeps = RouteDeps & {
  /** For the DLQ and lag views (admin and throwaway reader connections, opened per request). */
  kafka: KafkaClient;
  sessions: ConsoleSessions;
  /** Consumer group → the topics it reads, for the lag view. */
  groups: Record<string, string[]>;
  /** onRequest hook: a console session cookie or an ops-scoped API key. */
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
};

/** Every console JSON route lives under this prefix. */
export const CONSOLE_API = "/console/api";

/** OpenAPI security of the console routes: browsers send the session cookie, scripts an ops key. */
export const security = [{ bearerAuth: [] }];
