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
  it("reads the keys asked together in one query, and groups those asked while it is in flight into the next", async () => {
    const { read, queries } = controlledRead();
    const find = createGroupedRead(read);
    const first = [find("a"), find("b")];
    await nextTick();
    expect(queries.map((q) => q.keys)).toEqual([["a", "b"]]);
    const second = find("c");
    const third = find("d");
    await nextTick();
    expect(queries.map((q) => q.keys)).toEqual([["a", "b"]]);
    queries[0]!.settle();
    expect(await Promise.all(first)).toEqual(["value:a", "value:b"]);
    await nextTick();
    expect(queries.map((q) => q.keys)).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    queries[1]!.settle();
    expect([await second, await third]).toEqual(["value:c", "value:d"]);
  });

  it("never answers a key from a query that started before it was asked", async () => {
    const { read, queries } = controlledRead();
    const find = createGroupedRead(read);
    const early = find("order-1");
    await nextTick();
    // The same key asked again while the first query is in flight (a concurrent duplicate): the
    // row may have been committed since that query started, so it waits for a query of its own.
    const late = find("order-1");
    await nextTick();
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
    await nextTick();
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
    await nextTick();
    queries[0]!.settle();
    await nextTick();
    queries[1]!.settle();
    await nextTick();
    queries[2]!.settle();
    expect(await Promise.all(all)).toEqual(["value:a", "value:b", "value:c", "value:d", "value:e"]);
    expect(queries.map((q) => q.keys)).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  });
});
