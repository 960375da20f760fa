import type { FastifySchemaCompiler } from "fastify";
import { validatorCompiler } from "fastify-type-provider-zod";

/**
 * For routes taking a Limio order: the body schema only documents it; parseLimioOrder validates
 * it (once), reporting Limio's field paths. Other parts (headers, params) are validated as usual.
 */
export const orderBodyValidator: FastifySchemaCompiler<unknown> = ({ schema, method, url, httpPart }) =>
  httpPart === "body"
    ? (data: unknown) => ({ value: data })
    : validatorCompiler({ schema: schema as never, method, url, httpPart: httpPart as never });
