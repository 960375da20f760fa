/**
 * `"a" = $2, "b" = $3` for an UPDATE of the given columns, values from `$first` on. Column names
 * come from the code (a typed object's keys), never from input; each is quoted as Prisma's are.
 */
export function setClause(columns: readonly string[], first: number): string {
  return columns.map((column, i) => `"${column}" = $${first + i}`).join(", ");
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
