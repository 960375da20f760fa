// The one place that knows how Prisma runs offline on these machines (docs/decisions/007-prisma-offline.md):
// Prisma 6.19 with the JS engine and the pg driver adapter, so `generate`, `migrate deploy` and the
// client need no native engine download. With network access the ordinary Prisma workflow still works.
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  engine: "js",
  experimental: { adapter: true },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    return new PrismaPg({ connectionString: url });
  },
});
