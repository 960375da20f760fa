import qs from "qs";
import type { JsonObject } from "../types.ts";

/** Stripe's nested form encoding (`items[0][price]=…`, `expand[]=…`), for bodies and query strings. */
const QS_OPTIONS = { depth: 20, arrayLimit: 1000, parameterLimit: 10_000 } as const;

export function parseForm(body: string): JsonObject {
  return qs.parse(body, QS_OPTIONS);
}
