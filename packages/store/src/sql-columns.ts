/**
 * `[text, values]` of an UPDATE of row `id` of `table`: `data`'s columns and `updatedAt` (Prisma's
 * `@updatedAt`, which its client sets, not the database). Column names come from the code (a typed
 * object's keys), never from input; each is quoted as Prisma's are.
 */
export function updateById(table: string, id: string, data: object): [string, unknown[]] {
  const row: Record<string, unknown> = { ...data, updatedAt: new Date() };
  const columns = Object.keys(row);
  const set = columns.map((column, i) => `"${column}" = $${i + 2}`).join(", ");
  return [`UPDATE "${table}" SET ${set} WHERE "id" = $1`, [id, ...columns.map((c) => row[c])]];
}

/** A jsonb parameter: pg would send a JS array as a Postgres array, so every JSON value goes as text. */
export const jsonb = (value: unknown) =>
  value === null || value === undefined ? null : JSON.stringify(value);

/**
 * A tagged template as `[text, values]` for `Sql`: each `${value}` becomes its own `$n`, as in
 * Prisma's `$queryRaw`, so a statement moves from Prisma to pg unchanged.
 */
export function sqlText(strings: TemplateStringsArray, ...values: unknown[]): [string, unknown[]] {
  return [strings.reduce((text, part, i) => `${text}$${i}${part}`), values];
}
