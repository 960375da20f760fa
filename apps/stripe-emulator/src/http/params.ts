import { invalid, missingParam } from "./errors.ts";

/** Form values arrive as strings; these helpers coerce them the way Stripe's API does. */
export function str(value: unknown, param: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(`Invalid string: ${param}`, param);
  return value;
}

export function requireStr(value: unknown, param: string): string {
  const v = str(value, param);
  if (v === undefined || v === "") throw missingParam(param);
  return v;
}

export function int(value: unknown, param: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value !== "string" || !/^-?\d+$/.test(value))
    throw invalid(`Invalid integer: ${String(value)}`, param);
  return Number.parseInt(value, 10);
}

export function bool(value: unknown, param: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw invalid(`Invalid boolean: ${String(value)}`, param);
}

/**
 * qs turns `a[0]=x&a[1]=y` into an array, but large or sparse indices into an object: the
 * elements either way, in index order. A typed array parameter (Form<P>) keeps its element type.
 */
export function arr<T>(value: readonly T[] | "" | undefined): T[];
export function arr(value: unknown): unknown[];
export function arr(value: unknown): unknown[] {
  if (value === undefined || value === "") return [];
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") {
    return Object.entries(value)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, v]) => v);
  }
  return [value];
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], param: string): T | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`Invalid ${param}: must be one of ${allowed.join(", ")}`, param);
  }
  return value as T;
}

/** Stripe merges metadata on update; an empty string unsets a key, an empty value unsets all. */
export function mergeMetadata(
  existing: Record<string, string> | null,
  incoming: unknown,
): Record<string, string> {
  if (incoming === undefined) return existing ?? {};
  if (incoming === "" || incoming === null) return {};
  if (typeof incoming !== "object") throw invalid("Invalid metadata", "metadata");
  const out = { ...existing };
  for (const [k, v] of Object.entries(incoming as Record<string, unknown>)) {
    if (k.length > 40)
      throw invalid(`Invalid metadata: keys can be at most 40 characters long (${k}).`, `metadata[${k}]`);
    if (typeof v === "string" && v.length > 500) {
      throw invalid("Invalid metadata: values can be at most 500 characters long.", `metadata[${k}]`);
    }
    if (v === "" || v === null) delete out[k];
    else out[k] = String(v);
  }
  if (Object.keys(out).length > 50)
    throw invalid("Invalid metadata: metadata can have at most 50 keys.", "metadata");
  return out;
}

export function metadata(incoming: unknown): Record<string, string> {
  return mergeMetadata({}, incoming);
}

/** A string field that `''` unsets (Stripe's form encoding of null). */
export function nullableStr(value: unknown, param: string): string | null | undefined {
  return value === "" ? null : str(value, param);
}

/**
 * A list parameter with at most `max` entries, as Stripe's OpenAPI description states for it
 * (e.g. a subscription's `items`: "A list of up to 20 subscription items"); the caller cites it.
 */
export function atMost<T>(list: T[], max: number, param: string): T[] {
  if (list.length > max) {
    throw invalid(`Invalid array: \`${param}\` can have at most ${max} entries, got ${list.length}.`, param);
  }
  return list;
}
