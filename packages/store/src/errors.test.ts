import { describe, expect, it } from "vitest";
import { isStoreUnavailable } from "./errors.ts";
import { createStore } from "./index.ts";

describe("isStoreUnavailable", () => {
  it("recognises a database that does not answer, through Prisma's wrapping", async () => {
    const store = createStore("postgresql://nobody@127.0.0.1:1/nothing");
    const error = await store.db.subscription.findFirst().catch((caught: unknown) => caught);
    await store.close();
    expect(isStoreUnavailable(error)).toBe(true);
  });

  it("does not mistake a query error or a plain bug for an outage", () => {
    expect(isStoreUnavailable(Object.assign(new Error("Unique constraint failed"), { code: "P2002" }))).toBe(
      false,
    );
    expect(isStoreUnavailable(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(isStoreUnavailable(new Error("wrapped", { cause: { code: "57P03" } }))).toBe(true);
  });
});
