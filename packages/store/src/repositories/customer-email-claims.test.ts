import { freshDatabase } from "@bridge/local-infra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimCustomerEmail, createStore, recordOrder, type Store, setOrderStatus } from "../index.ts";

let store: Store;

beforeAll(async () => {
  store = createStore(await freshDatabase());
});
afterAll(async () => {
  await store?.close();
});

const minute = 60_000;
let n = 0;
const keyFor = () => ({ account: "key_test", emailHash: `hash-${++n}` });
const order = async (id: string) =>
  recordOrder(store.db, {
    id,
    reference: id,
    type: "new",
    source: "shop",
    subscriptionId: `sub-${id}`,
    status: "queued",
    payload: {},
  });

describe("claimCustomerEmail", () => {
  it("gives an email to exactly one of many orders asking at once, and again to that order", async () => {
    const key = keyFor();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimCustomerEmail(store.db, key, `order-${i}`, minute)),
    );
    const winners = answers.filter((a) => a.claimed);
    expect(winners).toHaveLength(1);
    const holder = winners[0]!.holder;
    expect(winners[0]!.wasHeld).toBe(false);
    expect(new Set(answers.map((a) => a.holder))).toEqual(new Set([holder]));
    // A redelivery of the holder keeps it, told the claim existed (it may have created already).
    expect(await claimCustomerEmail(store.db, key, holder, minute)).toEqual({
      claimed: true,
      holder,
      wasHeld: true,
    });
  });

  it("passes the claim on when its holder's order is finished, never while it is queued", async () => {
    const key = keyFor();
    await order("order-first");
    expect((await claimCustomerEmail(store.db, key, "order-first", minute)).claimed).toBe(true);
    expect(await claimCustomerEmail(store.db, key, "order-second", minute)).toMatchObject({
      claimed: false,
      holder: "order-first",
    });
    await setOrderStatus(store.db, "order-first", "failed");
    expect(await claimCustomerEmail(store.db, key, "order-second", minute)).toEqual({
      claimed: true,
      holder: "order-second",
      wasHeld: true,
    });
  });

  it("passes the claim on once it is older than its lifetime (a crashed holder)", async () => {
    const key = keyFor();
    expect((await claimCustomerEmail(store.db, key, "order-crashed", minute)).claimed).toBe(true);
    expect((await claimCustomerEmail(store.db, key, "order-next", minute)).claimed).toBe(false);
    await store.db.customerEmailClaim.update({
      where: { account_emailHash: key },
      data: { claimedAt: new Date(Date.now() - 2 * minute) },
    });
    expect(await claimCustomerEmail(store.db, key, "order-next", minute)).toMatchObject({
      claimed: true,
      holder: "order-next",
    });
  });

  it("keeps accounts apart", async () => {
    const emailHash = `hash-${++n}`;
    expect((await claimCustomerEmail(store.db, { account: "a", emailHash }, "order-a", minute)).claimed).toBe(
      true,
    );
    expect((await claimCustomerEmail(store.db, { account: "b", emailHash }, "order-b", minute)).claimed).toBe(
      true,
    );
  });
});
