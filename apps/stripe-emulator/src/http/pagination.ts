import type { JsonObject } from "../types.ts";
import { invalid } from "./errors.ts";
import { int, str } from "./params.ts";

/**
 * Stripe cursor pagination over a newest-first list: `limit` (1–100, default 10),
 * `starting_after` (objects after that id), `ending_before` (objects before it).
 */
export function paginate<T extends { id?: unknown }>(
  items: T[],
  query: { limit?: unknown; starting_after?: unknown; ending_before?: unknown },
  url: string,
  render: (obj: T) => JsonObject,
): JsonObject {
  const limit = int(query.limit, "limit") ?? 10;
  if (limit < 1 || limit > 100) throw invalid("Invalid limit: must be between 1 and 100", "limit");
  const startingAfter = str(query.starting_after, "starting_after");
  const endingBefore = str(query.ending_before, "ending_before");
  let page: T[];
  let hasMore: boolean;
  if (startingAfter) {
    const idx = items.findIndex((o) => o.id === startingAfter);
    if (idx < 0) throw invalid(`No such object: '${startingAfter}'`, "starting_after", "resource_missing");
    const rest = items.slice(idx + 1);
    page = rest.slice(0, limit);
    hasMore = rest.length > limit;
  } else if (endingBefore) {
    const idx = items.findIndex((o) => o.id === endingBefore);
    if (idx < 0) throw invalid(`No such object: '${endingBefore}'`, "ending_before", "resource_missing");
    const before = items.slice(0, idx);
    page = before.slice(Math.max(0, before.length - limit));
    hasMore = before.length > limit;
  } else {
    page = items.slice(0, limit);
    hasMore = items.length > limit;
  }
  return { object: "list", data: page.map(render), has_more: hasMore, url };
}
