import { describe, expect, it } from "vitest";
import { createGroupedRead } from "./grouped-read.ts";

/** A read whose queries complete when the test says so; answers each key with `value:<key>`. */
function controlledRead() {
  const queries: { keys: string[]; settle: (error?: Error) => void }[] = [];
  const read = (keys: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      queries.push({
        keys,
        settle: (error) => (error ? reject(error) : resolve(keys.map((key) => `value:${key}`))),
      });
    });
  return { read, queries };
}

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe("grouped read", () => {
  it("reads a lone key at once and groups the keys asked while a query is in flight into the next one", async () => {
    const { read, queries } = controlledRead();
    const find = createGroupedRead(read);
    const first = find("a");
    const second = find("b");
    const third = find("c");
    expect(queries.map((q) => q.keys)).toEqual([["a"]]);
    queries[0]!.settle();
    expect(await first).toBe("value:a");
    await nextTick();
    expect(queries.map((q) => q.keys)).toEqual([["a"], ["b", "c"]]);
    queries[1]!.settle();
    expect([await second, await third]).toEqual(["value:b", "value:c"]);
  });

  it("never answers a key from a query that started before it was asked", async () => {
    const { read, queries } = controlledRead();
    const find = createGroupedRead(read);
    const early = find("order-1");
    // The same key asked again while the first query is in flight (a concurrent duplicate): the
    // row may have been committed since that query started, so it waits for a query of its own.
    const late = find("order-1");
    expect(queries.map((q) => q.keys)).toEqual([["order-1"]]);
    queries[0]!.settle();
    await early;
    await nextTick();
    expect(queries.map((q) => q.keys)).toEqual([["order-1"], ["order-1"]]);
    queries[1]!.settle();
    expect(await late).toBe("value:order-1");
  });

  it("fails only the callers of a failed query, and keeps serving the next ones", async () => {
    const { read, queries } = controlledRead();
    const find = createGroupedRead(read);
    const first = find("a");
    const second = find("b");
    queries[0]!.settle(new Error("store down"));
    await expect(first).rejects.toThrow("store down");
    await nextTick();
    queries[1]!.settle();
    expect(await second).toBe("value:b");
  });

  it("bounds a query to maxBatch keys", async () => {
    const { read, queries } = controlledRead();
    const find = createGroupedRead(read, { maxBatch: 2 });
    const all = ["a", "b", "c", "d", "e"].map((key) => find(key));
    queries[0]!.settle();
    await nextTick();
    queries[1]!.settle();
    await nextTick();
    queries[2]!.settle();
    expect(await Promise.all(all)).toEqual(["value:a", "value:b", "value:c", "value:d", "value:e"]);
    expect(queries.map((q) => q.keys)).toEqual([["a"], ["b", "c"], ["d", "e"]]);
  });
});
