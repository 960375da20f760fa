import type { FastifySchemaCompiler } from "fastify";
import { validatorCompiler } from "fastify-type-provider-zod";

/**
 * For routes whose handler validates the body itself (a Limio order through parseLimioOrder, a
 * catalog through loadCatalog, a signed Stripe event after its signature), once, reporting the
 * caller's field paths: the body schema only documents it. Other parts (headers, params) are validated as usual.
 */
export const bodyCheckedByHandler: FastifySchemaCompiler<unknown> = ({ schema, method, url, httpPart }) =>
  httpPart === "body"
    ? (data: unknown) => ({ value: data })
    : validatorCompiler({ schema: schema as never, method, url, httpPart: httpPart as never });
