// Databases inside the run's Postgres: one template holding the migrated schema, and a fresh
// copy of it per test file (CREATE DATABASE ... TEMPLATE is a file copy: milliseconds, not a
// migration run), so test files never share tables and can run in parallel.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEMPLATE_DATABASE = "bridge_template";

/** `url` pointing at database `name` instead. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(name)}`;
  return parsed.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function postgresVersion(url: string): Promise<string> {
  return withClient(
    url,
    async (c) => (await c.query<{ version: string }>("select version()")).rows[0]?.version ?? "unknown",
  );
}

/** Drops `name` if present, template flag included; kicks out any session still connected. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const ident = c.escapeIdentifier(name);
    const exists = await c.query("select 1 from pg_database where datname = $1", [name]);
    if (exists.rowCount === 0) return;
    await c.query(`alter database ${ident} is_template false`);
    await c.query(`drop database if exists ${ident} with (force)`);
  });
}

/** (Re)creates the empty template database and returns its URL; call `sealTemplate` once it is migrated. */
export async function createTemplateDatabase(adminUrl: string, name = TEMPLATE_DATABASE): Promise<string> {
  await dropDatabase(adminUrl, name);
  await withClient(adminUrl, (c) => c.query(`create database ${c.escapeIdentifier(name)}`));
  return databaseUrl(adminUrl, name);
}

/** Marks the template as such and makes sure nobody is connected (CREATE ... TEMPLATE requires it). */
export async function sealTemplate(adminUrl: string, name = TEMPLATE_DATABASE): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [name],
    );
    await c.query(`alter database ${c.escapeIdentifier(name)} is_template true allow_connections false`);
  });
}

/** A database name unique to this process and call, starting with `prefix` (≤ 63 bytes, lower case). */
export function uniqueDatabaseName(prefix: string): string {
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 30);
  return `${safe}_${process.pid}_${randomBytes(5).toString("hex")}`;
}

/**
 * Creates database `name` as a copy of `template` (or empty when no template is given or it
 * does not exist) and returns its URL.
 */
export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  await withClient(adminUrl, async (c) => {
    const ident = c.escapeIdentifier(name);
    if (template) {
      try {
        await c.query(`create database ${ident} template ${c.escapeIdentifier(template)}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== "3D000") throw error; // 3D000: template missing
      }
    }
    await c.query(`create database ${ident}`);
  });
  return databaseUrl(adminUrl, name);
}

/** Drops every database whose name starts with `prefix` (for servers that outlive the run). */
export async function dropDatabasesWithPrefix(adminUrl: string, prefix: string): Promise<number> {
  const names = await withClient(adminUrl, async (c) => {
    const rows = await c.query<{ datname: string }>(
      "select datname from pg_database where starts_with(datname, $1) and not datistemplate",
      [prefix],
    );
    return rows.rows.map((r) => r.datname);
  });
  for (const name of names) await dropDatabase(adminUrl, name);
  return names.length;
}
