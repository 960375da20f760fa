// Applies pending Prisma migrations to DATABASE_URL (the compose one-shot and `npm run db:migrate`).
import { applyMigrations } from "@bridge/store/migrations";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}
await applyMigrations(url);
console.log("migrations applied");
