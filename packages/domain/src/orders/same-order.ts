/**
 * Is a resubmitted or redelivered order the same order? Compared on content: object key order
 * does not matter, and fields that only say how to answer (process_immediately) may differ.
 */

/** JSON with object keys sorted, so equal payloads serialise equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Fields that say how to answer, not what to do: a resubmission may change them freely. */
const volatileFields = ["process_immediately"];

/**
 * The order's content as canonical JSON, from an order as published (`data.order`) or as
 * recorded (which may be the whole message `data`, `{ orderId, order, … }`).
 */
export function orderContent(payload: unknown): string {
  let order = payload;
  if (order && typeof order === "object" && "order" in order && "orderId" in order) {
    order = (order as { order: unknown }).order;
  }
  const copy = { ...(order as Record<string, unknown>) };
  for (const field of volatileFields) delete copy[field];
  return canonicalJson(copy);
}

export function sameOrder(a: unknown, b: unknown): boolean {
  return orderContent(a) === orderContent(b);
}
