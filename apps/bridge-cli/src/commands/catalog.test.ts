import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createStore, findOffer, type Store } from "@bridge/store";
import { freshDatabase } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.ts";

const exportFile = path.resolve(import.meta.dirname, "../../../../test/fixtures/limio/offer-export.json");
let store: Store;
let env: Record<string, string>;

beforeAll(async () => {
  const databaseUrl = await freshDatabase("cli-catalog");
  store = createStore(databaseUrl);
  env = { DATABASE_URL: databaseUrl, LOG_LEVEL: "error" };
});
afterAll(async () => {
  await store?.close();
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("bridge catalog load", () => {
  it("loads Limio's offer export, says what it did per offer, and is a no-op the second time", async () => {
    const first = await cli("catalog", "load", exportFile);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(
      /^added {5}6eacdc8ea4d77136c0ca25029fa60fe03310139e version 66bf01e9\S+ {2}Weekend Print Monthly$/m,
    );
    expect(first.out).toContain("2 added, 0 updated, 0 unchanged");
    expect((await findOffer(store.db, "6eacdc8ea4d77136c0ca25029fa60fe03310139e"))?.stripeProductCode).toBe(
      "prod_LedgerWeekend01",
    );
    const again = await cli("catalog", "load", exportFile);
    expect(again.code).toBe(0);
    expect(again.out).toContain("0 added, 0 updated, 2 unchanged");
  });

  it("refuses a broken offer naming it and the field, loading nothing (exit 1); usage errors exit 2", async () => {
    const offers = JSON.parse(await readFile(exportFile, "utf8"));
    offers[1].id = "1234567890123456789012345678901234567890";
    offers[0].data.attributes.term__limio = { length: 0, type: "months" };
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), "catalog-")), "broken.json");
    await writeFile(file, JSON.stringify(offers));
    const broken = await cli("catalog", "load", file);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`offer '${offers[0].id}' offers.0.data.attributes.term__limio.length: `);
    expect(await findOffer(store.db, offers[1].id)).toBeNull();

    expect((await cli("catalog", "load")).code).toBe(2);
    expect((await cli("catalog", "unload", exportFile)).code).toBe(2);
    expect((await cli("catalog", "load", "/nonexistent.json")).code).toBe(2);
  });
});
