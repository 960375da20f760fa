import { readFile } from "node:fs/promises";
import { freshDatabase } from "@bridge/local-infra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore, type Store } from "../store.ts";
import { CatalogLoadError, loadCatalog } from "./catalog.ts";
import { findOffer, findOrderedOffer } from "./offers.ts";

const exportUrl = new URL("../../../../test/fixtures/limio/offer-export.json", import.meta.url);
let store: Store;
let exported: { id: string; version: string; data: { attributes: { price__limio: { value: string }[] } } }[];

beforeAll(async () => {
  store = createStore(await freshDatabase());
  exported = JSON.parse(await readFile(exportUrl, "utf8"));
});
afterAll(async () => {
  await store?.close();
});

const changes = (r: Awaited<ReturnType<typeof loadCatalog>>) => r.offers.map((o) => `${o.id}:${o.change}`);

describe("loadCatalog: offers versioned as Limio's", () => {
  it("adds, then changes nothing on a reload, then keeps the old version beside a new one", async () => {
    const [weekend, weekly] = exported;
    expect(changes(await loadCatalog(store.db, exported))).toEqual([
      `${weekend!.id}:added`,
      `${weekly!.id}:added`,
    ]);
    expect(changes(await loadCatalog(store.db, exported))).toEqual([
      `${weekend!.id}:unchanged`,
      `${weekly!.id}:unchanged`,
    ]);

    // Limio republishes the weekend offer at a new price: a new version, the old one kept.
    const republished = structuredClone(weekend!);
    republished.version = "1111111111111111111111111111111111111111";
    republished.data.attributes.price__limio[0]!.value = "15.99";
    expect(changes(await loadCatalog(store.db, [republished, weekly]))).toEqual([
      `${weekend!.id}:updated`,
      `${weekly!.id}:unchanged`,
    ]);
    const current = (await findOrderedOffer(store.db, { id: weekend!.id })) as {
      charges: { value: string }[];
    };
    expect(current.charges[0]!.value).toBe("15.99");
    const bought = (await findOrderedOffer(store.db, { id: weekend!.id, version: weekend!.version })) as {
      charges: { value: string }[];
    };
    expect(bought.charges[0]!.value).toBe("14.99");
    expect(await findOrderedOffer(store.db, { id: weekend!.id, version: "nope" })).toBeNull();
    expect((await findOffer(store.db, weekend!.id))?.version).toBe(republished.version);
  });

  it("refuses a loaded version with other content, naming the offer and field, and loads nothing", async () => {
    const [weekend, weekly] = exported;
    const altered = structuredClone(weekend!);
    altered.data.attributes.price__limio[0]!.value = "99.00";
    const renamedWeekly = { ...structuredClone(weekly!), id: "ffffffffffffffffffffffffffffffffffffffff" };
    const error = await loadCatalog(store.db, [renamedWeekly, altered]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogLoadError);
    expect((error as CatalogLoadError).errors).toEqual([
      expect.objectContaining({ offerId: weekend!.id, path: "offers.1.version" }),
    ]);
    expect((error as Error).message).toContain(
      `offer '${weekend!.id}' offers.1.version: version ${weekend!.version}`,
    );
    expect(await findOffer(store.db, renamedWeekly.id)).toBeNull(); // all or nothing
  });

  it("versions an offer that has no version by its content", async () => {
    const offer = {
      id: "plain-offer",
      name: "Plain",
      stripeProductCode: "prod_Plain",
      term: { length: 1, type: "months" },
      charges: [{ value: "1.00", currencyCode: "GBP", type: "one_time" }],
    };
    const first = await loadCatalog(store.db, { offers: [offer] });
    expect(first.offers[0]).toMatchObject({
      change: "added",
      version: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const second = await loadCatalog(store.db, { offers: [{ ...offer, name: "Plain renamed" }] });
    expect(second.offers[0]!.change).toBe("updated");
    expect(second.offers[0]!.version).not.toBe(first.offers[0]!.version);
    expect(
      await findOrderedOffer(store.db, { id: offer.id, version: first.offers[0]!.version }),
    ).toMatchObject({
      name: "Plain",
    });
  });
});
