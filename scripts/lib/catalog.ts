// Loads the catalog the writer prices orders from: CATALOG_FILE when set, else the demo catalog.
// Used by the local run (scripts/run-local.ts) and the compose one-shot (scripts/migrate.ts).
import { readFile } from "node:fs/promises";
import { demoCatalogUrl } from "@bridge/domain";
import { createStore, loadCatalog } from "@bridge/store";

export const catalogSource = () => process.env.CATALOG_FILE ?? "the demo catalog";

/** Loads the catalog into `databaseUrl` and returns how many offers it holds. */
export async function seedCatalog(databaseUrl: string): Promise<number> {
  const file = process.env.CATALOG_FILE ?? demoCatalogUrl;
  const store = createStore(databaseUrl, { poolSize: 1 });
  try {
    return (await loadCatalog(store.db, JSON.parse(await readFile(file, "utf8")))).offers.length;
  } finally {
    await store.close();
  }
}
