// Applies pending Prisma migrations to DATABASE_URL (the compose one-shot and `npm run db:migrate`);
// with --load-catalog it then loads the catalog (CATALOG_FILE, else the demo catalog), so the
// compose stack prices orders like the local run does.
import { applyMigrations } from "@bridge/store/migrations";
import { catalogSource, seedCatalog } from "./lib/catalog.ts";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}
await applyMigrations(url);
console.log("migrations applied");
if (process.argv.includes("--load-catalog")) {
  console.log(`catalog loaded: ${await seedCatalog(url)} offers from ${catalogSource()}`);
}
