import { readFile } from "node:fs/promises";
import { findOffer } from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, keys, seedSubscription, startTestGateway, type TestGateway } from "../../../test/support.ts";

const catalogKey = "catalog-key-0123456789abcdef";
const exportUrl = new URL("../../../../../test/fixtures/limio/offer-export.json", import.meta.url);
let gw: TestGateway;
let exported: { id: string; data: { attributes: Record<string, unknown> } }[];

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      API_KEYS: `shop:${keys.shop}:orders,catalog:${catalogKey}:catalog,reader:${keys.reader}:read`,
    },
  });
  exported = JSON.parse(await readFile(exportUrl, "utf8"));
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

const post = (body: unknown, key = catalogKey) =>
  gw.app.inject({ method: "POST", url: "/api/catalog", headers: bearer(key), payload: body as object });

describe("POST /api/catalog", () => {
  it("needs the catalog scope", async () => {
    const response = await post(exported, keys.shop);
    expect(response.statusCode).toBe(403);
    expect(await findOffer(gw.store.db, exported[0]!.id)).toBeNull();
  });

  it("loads Limio's offer export and says what it did per offer; again, nothing changes", async () => {
    const first = await post(exported);
    expect(first.statusCode).toBe(200);
    expect(first.json().offers.map((o: { change: string }) => o.change)).toEqual(["added", "added"]);
    expect((await findOffer(gw.store.db, exported[0]!.id))?.stripeProductCode).toBe("prod_LedgerWeekend01");
    const again = await post({ offers: exported });
    expect(again.json().offers.map((o: { change: string }) => o.change)).toEqual(["unchanged", "unchanged"]);
  });

  it("answers 400 naming the offer and field, loading nothing", async () => {
    const broken = structuredClone(exported);
    broken[1]!.id = "abababababababababababababababababababab";
    delete broken[0]!.data.attributes.term__limio;
    const response = await post(broken);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: "invalid_catalog",
      details: [
        {
          path: "offers.0.data.attributes.term__limio",
          message: expect.stringMatching(new RegExp(`^offer '${exported[0]!.id}': `)),
        },
      ],
    });
    expect(await findOffer(gw.store.db, broken[1]!.id)).toBeNull();
  });
});

describe("an order naming an offer version", () => {
  it("is refused with a 400 naming orderItems.N.offer.version when the catalog lacks that version", async () => {
    const order = JSON.parse(
      await readFile(new URL("../../../../../test/fixtures/limio/new.json", import.meta.url), "utf8"),
    );
    const postOrder = (body: unknown) =>
      gw.app.inject({
        method: "POST",
        url: "/api/orders",
        headers: bearer(keys.shop),
        payload: body as object,
      });
    order.external_id = "EXT-VERSION-UNKNOWN";
    order.orderItems[0].offer.version = "0000000000000000000000000000000000000000";
    const refused = await postOrder(order);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({
      code: "offer_version_not_found",
      details: [
        {
          path: "orderItems.0.offer.version",
          message: expect.stringContaining(order.orderItems[0].offer.id),
        },
      ],
    });
    // The demo catalog's version of the same offer (loaded by the test gateway) is accepted.
    order.external_id = "EXT-VERSION-KNOWN";
    order.orderItems[0].offer.version = "f26cd9c730ca67ed80b2607779c1f1a6faf493f7";
    expect((await postOrder(order)).statusCode).toBe(202);

    // A refusal is not remembered: once the catalog holds the version, the same order is accepted.
    const known = await gw.store.db.offerVersion.findFirstOrThrow({
      where: { offerId: order.orderItems[0].offer.id, version: order.orderItems[0].offer.version },
    });
    order.external_id = "EXT-VERSION-LOADED-LATER";
    order.orderItems[0].offer.version = "1111111111111111111111111111111111111111";
    expect((await postOrder(order)).statusCode).toBe(400);
    await gw.store.db.offerVersion.create({
      data: {
        offerId: known.offerId,
        version: "1111111111111111111111111111111111111111",
        raw: known.raw as object,
      },
    });
    expect((await postOrder(order)).statusCode).toBe(202);
  });
});

describe("GET /api/subscriptions/{id}", () => {
  it("shows the offer version the subscription bought", async () => {
    const sub = await seedSubscription(gw.store);
    const offerId = "f9a4695c077b2d1446d4fd8ebfd071b428e90899";
    await gw.store.db.subscription.update({
      where: { id: sub.id },
      data: { offerId, offerVersion: "f26cd9c730ca67ed80b2607779c1f1a6faf493f7" },
    });
    const response = await gw.app.inject({
      method: "GET",
      url: `/api/subscriptions/${sub.id}`,
      headers: bearer(keys.reader),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().offer).toEqual({
      id: offerId,
      name: "Print + Digital Monthly",
      version: "f26cd9c730ca67ed80b2607779c1f1a6faf493f7",
    });
  });
});
