import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type FieldTableRow, fieldTableRows, ORDER_FIELD_RULES, ruleFor } from "./field-rules.ts";
import { orderSchemasByType, supportedOrderTypes } from "./schemas.ts";

const doc = readFileSync(new URL("../../../../docs/limio-order-fields.md", import.meta.url), "utf8");

/** The markdown tables of docs/limio-order-fields.md, by the `### \`type\`` heading above each. */
function docTables(markdown: string): Map<string, FieldTableRow[]> {
  const tables = new Map<string, FieldTableRow[]>();
  let current: FieldTableRow[] | undefined;
  for (const line of markdown.split("\n")) {
    const heading = /^### `([a-z_]+)`\s*$/.exec(line);
    if (heading) {
      current = [];
      tables.set(heading[1]!, current);
      continue;
    }
    if (!current || !line.startsWith("|") || line.startsWith("|---") || line.startsWith("| Field ")) continue;
    // Cells are split on pipes that are not escaped (`once \| forever`).
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replaceAll("\\|", "|"));
    expect(cells, `a row of four cells: ${line}`).toHaveLength(4);
    const [field, happens, stripe, note] = cells as [string, string, string, string];
    current.push({ field: field.replace(/^`|`$/g, ""), happens, stripe, note });
  }
  return tables;
}

/** Every path a zod object schema declares, arrays as `*` (optional/default/nullable/pipe unwrapped). */
function schemaPaths(schema: unknown, prefix: string[] = []): string[] {
  let s = schema as { _zod: { def: Record<string, unknown> } };
  for (;;) {
    const def = s._zod.def;
    if (["optional", "default", "nullable", "prefault", "readonly"].includes(def.type as string)) {
      s = def.innerType as typeof s;
    } else if (def.type === "pipe") {
      s = def.in as typeof s;
    } else break;
  }
  const def = s._zod.def;
  if (def.type === "array") return [prefix.join("."), ...schemaPaths(def.element, [...prefix, "*"])];
  if (def.type === "union") {
    return [...new Set((def.options as unknown[]).flatMap((o) => schemaPaths(o, prefix)))];
  }
  if (def.type !== "object") return prefix.length > 0 ? [prefix.join(".")] : [];
  const shape = def.shape as Record<string, unknown>;
  return [
    ...(prefix.length > 0 ? [prefix.join(".")] : []),
    ...Object.entries(shape).flatMap(([k, v]) => schemaPaths(v, [...prefix, k])),
  ];
}

/** A path has a rule, or lies inside a field kept or applied as a whole. */
function covered(type: (typeof supportedOrderTypes)[number], path: string): boolean {
  const segments = path.split(".").map((s) => (s === "*" ? "0" : s));
  if (ruleFor(type, segments)) return true;
  for (let k = segments.length - 1; k > 0; k--) {
    if (ruleFor(type, segments.slice(0, k))?.subtree) return true;
  }
  return false;
}

describe("docs/limio-order-fields.md", () => {
  const tables = docTables(doc);

  it("has one table per supported order type and no other", () => {
    expect([...tables.keys()].sort()).toEqual([...supportedOrderTypes].sort());
  });

  it.each(supportedOrderTypes)("lists exactly what the field table says for %s", (type) => {
    expect(tables.get(type)).toEqual(fieldTableRows(type));
  });
});

describe("the order schemas and the field table", () => {
  it.each(supportedOrderTypes)("every field the %s schema declares has a rule", (type) => {
    const missing = schemaPaths(orderSchemasByType[type])
      .filter((p) => p !== "order_type")
      .filter((p) => !covered(type, p));
    expect(missing).toEqual([]);
  });

  it.each(supportedOrderTypes)(
    "every applied field of %s is declared (typed and validated) by its schema",
    (type) => {
      const declared = new Set(
        schemaPaths(orderSchemasByType[type]).map((p) => p.replaceAll(/\.\d+(?=\.|$)/g, ".*")),
      );
      // Derived fields are added by the parser; subtrees, address lines and wildcards are shapes the schema leaves loose.
      const derived = new Set(["email", "stripePayment", "order_type"]);
      const undeclared = ORDER_FIELD_RULES.filter(
        (r) =>
          r.types.includes(type) &&
          r.disposition === "applied" &&
          !derived.has(r.path) &&
          !r.path.endsWith(".*") &&
          !declared.has(r.path.replace(/\.0(?=\.|$)/, ".*")),
      ).map((r) => r.path);
      expect(undeclared).toEqual([]);
    },
  );

  it("has one rule per path and order type, and subtrees only where nothing below is refused", () => {
    for (const type of supportedOrderTypes) {
      const paths = ORDER_FIELD_RULES.filter((r) => r.types.includes(type)).map((r) => r.path);
      expect(
        paths.filter((p, i) => paths.indexOf(p) !== i),
        type,
      ).toEqual([]);
    }
    for (const rule of ORDER_FIELD_RULES.filter((r) => r.subtree)) {
      const below = ORDER_FIELD_RULES.filter(
        (r) => r.path.startsWith(`${rule.path}.`) && r.types.some((t) => rule.types.includes(t)),
      );
      expect(
        below.filter((r) => r.disposition === "refused" || r.feature).map((r) => r.path),
        rule.path,
      ).toEqual([]);
    }
  });
});
