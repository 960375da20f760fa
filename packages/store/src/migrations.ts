import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const completionLine = /All migrations have been successfully applied|No pending migrations to apply/;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * Apply every pending migration in prisma/migrations with `prisma migrate deploy`, the offline way
 * configured in prisma.config.ts. Used before tests (on the template database) and before services
 * start. Rejects with Prisma's output when a migration fails.
 */
export async function applyMigrations(databaseUrl: string): Promise<void> {
  const prismaBin = path.join(repoRoot, "node_modules", "prisma", "build", "index.js");
  const output: string[] = [];
  let finished = false;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [prismaBin, "migrate", "deploy"], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => {
      output.push(chunk.toString());
      // Prisma 6.19's wasm schema engine keeps a ~10 s timer alive after the migrations are
      // committed, so the CLI idles before exiting. Its completion line is printed only after
      // the work is done: end the idle process there (saves ~10 s per test run and start-up).
      if (!finished && completionLine.test(output.join(""))) {
        finished = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0 && !finished)
    throw new Error(`prisma migrate deploy failed (exit ${code}):\n${output.join("")}`);
}
