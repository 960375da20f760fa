import { readFile } from "node:fs/promises";
import { CatalogLoadError, loadCatalog } from "@bridge/store";
import { type Command, exitCodes } from "./command.ts";

/**
 * `bridge catalog load <file>`: load Limio's offer export (or the bridge's `{ offers }` file)
 * into the store the writer prices orders from. Offers are versioned as Limio's are
 * (docs/decisions/022-offer-versions.md); one line per offer says what loading did.
 */
export const catalog: Command = {
  name: "catalog",
  summary: "load Limio's offer export into the catalog (new versions kept beside old ones)",
  usage: "bridge catalog load <file.json>",
  async run(ctx, { positionals }) {
    const [action, file, ...extra] = positionals;
    if (action !== "load" || !file || extra.length > 0) {
      ctx.err(`usage: ${this.usage}`);
      return exitCodes.usage;
    }
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8"));
    } catch (error) {
      ctx.err(`cannot read ${file}: ${(error as Error).message}`);
      return exitCodes.usage;
    }
    try {
      const result = await loadCatalog(ctx.store(this.name).db, json);
      for (const offer of result.offers) {
        ctx.out(`${offer.change.padEnd(9)} ${offer.id} version ${offer.version}  ${offer.name}`);
      }
      const count = (change: string) => result.offers.filter((o) => o.change === change).length;
      ctx.out(
        `catalog loaded from ${file}: ${count("added")} added, ${count("updated")} updated, ${count("unchanged")} unchanged`,
      );
      return exitCodes.ok;
    } catch (error) {
      if (!(error instanceof CatalogLoadError)) throw error;
      ctx.err(`${file}: nothing loaded. ${error.message}`);
      return exitCodes.failed;
    }
  },
};
