import { isStoreUnavailable } from "@bridge/store";
import type { FastifyError, FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { type ErrorDetail, errorBody, HttpError } from "../http-errors.ts";
import { routeMethodIndex } from "./method-not-allowed.ts";

/** Fastify's own error codes → our status and code. */
const fastifyCodes: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "payload_too_large", message: "request body too large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: "unsupported_media_type",
    message: "unsupported Content-Type; send application/json",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: "invalid_content_length" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "invalid_json", message: "the JSON body is empty" },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "invalid_json", message: "the body is not valid JSON" },
};

const pointerToPath = (pointer: string) => pointer.replace(/^\//, "").replaceAll("/", ".") || "(root)";

/**
 * Every 4xx/5xx in the one error shape `{ error: { code, message, details? } }`. The store being
 * down is a 503 with Retry-After, like Kafka being down: the client should retry, nothing is lost.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance, options: { retryAfterSeconds: number }) => {
    const allowedMethods = routeMethodIndex(app);
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split("?")[0] ?? "/";
      const allowed = allowedMethods(path);
      if (allowed.length > 0) {
        return reply
          .code(405)
          .header("allow", allowed.join(", "))
          .send(
            errorBody(
              "method_not_allowed",
              `${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`,
            ),
          );
      }
      return reply.code(404).send(errorBody("not_found", `no route for ${request.method} ${path}`));
    });

    app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
      if (error instanceof HttpError) {
        for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
        if (error.statusCode >= 500) request.log.warn({ code: error.code, err: error.cause }, error.message);
        return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
      }
      if (hasZodFastifySchemaValidationErrors(error)) {
        const where = error.validationContext ?? "body";
        const details: ErrorDetail[] = error.validation.map((issue) => ({
          path:
            where === "body"
              ? pointerToPath(issue.instancePath)
              : `${where}.${pointerToPath(issue.instancePath)}`,
          message: issue.message ?? "invalid",
        }));
        return reply
          .code(400)
          .send(errorBody("validation_error", `the request ${where} is invalid`, details));
      }
      const mapped = error.code ? fastifyCodes[error.code] : undefined;
      if (mapped) {
        return reply.code(mapped.status).send(errorBody(mapped.code, mapped.message ?? error.message));
      }
      if (
        error instanceof SyntaxError ||
        (error.statusCode === 400 && error.code?.startsWith("FST_ERR_CTP"))
      ) {
        return reply.code(400).send(errorBody("invalid_json", "the body is not valid JSON"));
      }
      if (isStoreUnavailable(error)) {
        request.log.warn({ err: error }, "the Limio store is unavailable");
        return reply
          .code(503)
          .header("Retry-After", String(options.retryAfterSeconds))
          .send(errorBody("store_unavailable", "the subscription store is unavailable; retry later"));
      }
      const status =
        error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) {
        request.log.error({ err: error }, "unhandled error");
        return reply.code(500).send(errorBody("internal_error", "internal error"));
      }
      return reply.code(status).send(errorBody("bad_request", error.message));
    });
  },
  { name: "errors" },
);
