import type { ErrorDetail } from "./http-errors.ts";

/**
 * What the rest of the system can store and bill (docs/decisions/013-edge-limits.md). A body
 * outside these limits is refused at the edge with 400 naming the field, instead of being
 * accepted and then failing in the writer (Postgres' JSON type, Stripe's amount limits) where
 * no answer reaches the client any more.
 */
export type InputLimits = {
  /** Nesting of objects and arrays; Limio's orders nest 4 levels, their loose parts a few more. */
  maxDepth: number;
  /** Characters of any one string. */
  maxStringLength: number;
  /** Elements of any one array. */
  maxArrayItems: number;
  /** Fields (object keys) in the whole body, known or not: unknown fields are kept, so they are bounded. */
  maxFields: number;
  /** Order items of one order. */
  maxOrderItems: number;
  /** `quantity` of one order item. */
  maxQuantity: number;
  /** Any numeric field named like an amount or price (minor units). */
  maxAmount: number;
};

/**
 * A lone UTF-16 surrogate: JSON text may carry one as `\ud800`, JavaScript keeps it, but it is not
 * a Unicode character, so Postgres' jsonb refuses it (as it refuses NUL, `\u0000`).
 */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be stored as a Postgres JSON string, if it cannot. */
function unstorableText(text: string): string | undefined {
  if (text.includes("\u0000")) return "contains a NUL character (\\u0000), which cannot be stored";
  if (loneSurrogate.test(text)) return "contains an unpaired UTF-16 surrogate, which is not valid Unicode";
  return undefined;
}

const amountName = /(^|_)(amount|price)$|(Amount|Price)$|^(amount|price)/;
const pathOf = (path: readonly (string | number)[]) => (path.length === 0 ? "(root)" : path.join("."));

/**
 * The first problem of a parsed JSON body against `limits`, with its field path, or undefined.
 * Stops at the depth limit, so a 10,000-deep body costs no more than a 16-deep one.
 */
export function findInputProblem(body: unknown, limits: InputLimits): ErrorDetail | undefined {
  let fields = 0;
  // One path, extended and restored as the walk goes (every webhook and order is walked whole);
  // it is joined into a field name only for the problem found.
  const path: (string | number)[] = [];
  const at = (message: string): ErrorDetail => ({ path: pathOf(path), message });
  const visitChild = (key: string | number, item: unknown): ErrorDetail | undefined => {
    path.push(key);
    const problem = visit(item);
    path.pop();
    return problem;
  };
  const visit = (value: unknown): ErrorDetail | undefined => {
    if (typeof value === "string") {
      if (value.length > limits.maxStringLength)
        return at(`longer than ${limits.maxStringLength} characters`);
      const why = unstorableText(value);
      return why ? at(why) : undefined;
    }
    if (typeof value === "number") {
      const name = path.at(-1);
      if (name === "quantity" && value > limits.maxQuantity) return at(`at most ${limits.maxQuantity}`);
      if (typeof name === "string" && amountName.test(name) && Math.abs(value) > limits.maxAmount) {
        return at(`at most ${limits.maxAmount} (minor units)`);
      }
      return undefined;
    }
    if (value === null || typeof value !== "object") return undefined;
    if (path.length >= limits.maxDepth) return at(`nested deeper than ${limits.maxDepth} levels`);
    if (Array.isArray(value)) {
      const max = path.length === 1 && path[0] === "orderItems" ? limits.maxOrderItems : limits.maxArrayItems;
      if (value.length > max) return at(`at most ${max} items`);
      for (let index = 0; index < value.length; index++) {
        const problem = visitChild(index, value[index]);
        if (problem) return problem;
      }
      return undefined;
    }
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      fields += 1;
      if (fields > limits.maxFields) return at(`more than ${limits.maxFields} fields in the body`);
      const keyProblem = unstorableText(key);
      if (keyProblem) return { path: pathOf([...path, key]), message: `field name ${keyProblem}` };
      const problem = visitChild(key, (value as Record<string, unknown>)[key]);
      if (problem) return problem;
    }
    return undefined;
  };
  return visit(body);
}
