import { invalid } from "./errors.ts";
import table from "./known-params.json" with { type: "json" };

/** See scripts/gen-known-params.ts: `"*"` any value, `"map"` free keys, string[] an enum, else known keys. */
type Shape = "*" | "map" | string[] | { [key: string]: Shape };
const ROUTES = table.routes as unknown as Record<string, Shape>;

/** Parameters removed by recent API versions, with the explanation Stripe's changelog gives. */
const REMOVED: Record<string, string> = {
  payment_method_types:
    "Since API version 2026-09-30, payment_method_types is no longer accepted on SetupIntent and PaymentIntent creation; payment method types are managed in the Dashboard (see allowed_payment_method_types / payment_method_configuration).",
};

/** Stripe names nested parameters with brackets: `payment_settings[save_default_payment_method]`. */
const child = (path: string, key: string) => (path ? `${path}[${key}]` : key);

function check(value: unknown, shape: Shape, path: string): void {
  if (shape === "*" || shape === "map" || value === undefined) return;
  if (Array.isArray(shape)) {
    if (typeof value === "string" && shape.includes(value)) return;
    const allowed = shape.filter((v) => v !== "");
    const list =
      allowed.length > 1 ? `${allowed.slice(0, -1).join(", ")}, or ${allowed.at(-1)}` : (allowed[0] ?? "");
    throw invalid(`Invalid ${path}: must be one of ${list}`, path);
  }
  // An empty value unsets an emptyable field (`field=`).
  if (value === "" && "''" in shape) return;
  if ("[]" in shape) {
    if (value === null || typeof value !== "object") throw invalid(`Invalid array`, path);
    for (const [index, element] of Object.entries(value)) check(element, shape["[]"]!, child(path, index));
    return;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(`Invalid object`, path);
  }
  for (const [key, inner] of Object.entries(value)) {
    const known = shape[key];
    if (known === undefined || key === "''") {
      const name = child(path, key);
      const why = path === "" ? REMOVED[key] : undefined;
      throw invalid(
        why ? `Received unknown parameter: ${name}. ${why}` : `Received unknown parameter: ${name}`,
        name,
        "parameter_unknown",
      );
    }
    check(inner, known, child(path, key));
  }
}

/**
 * Stripe validates every parameter at every depth: an unknown key is 400 `parameter_unknown`
 * with `param` its bracket path; a value outside an enum is 400 naming the parameter
 * (docs.stripe.com/api/errors). The table is the SDK's declared parameters for the pinned version.
 */
export function rejectUnknownParams(method: string, routePath: string, body: unknown): void {
  const shape = ROUTES[`${method} ${routePath}`];
  if (shape) check(body, shape, "");
}
