import type { Emulator } from "../context.ts";
import { isJsonObject, type JsonObject } from "../types.ts";
import { invalid } from "./errors.ts";
import { arr } from "./params.ts";

type Tree = Map<string, Tree>;

/** Fields Stripe only includes when expanded (includable), per object type. */
const INCLUDABLE: Record<string, string[]> = {
  invoice: ["confirmation_secret", "payments"],
};

function expandTree(paths: string[]): Tree {
  const root: Tree = new Map();
  for (const path of paths) {
    const parts = path.split(".");
    if (parts.length > 4)
      throw invalid(`You cannot expand more than 4 levels of a property: ${path}`, "expand");
    let node = root;
    for (const part of parts) {
      if (!node.has(part)) node.set(part, new Map());
      node = node.get(part)!;
    }
  }
  return root;
}

/**
 * Apply `expand[]` to a rendered object: ids become objects, includable fields are kept only
 * when asked for. Works on lists (`data.customer`) and nested paths (`latest_invoice.confirmation_secret`).
 */
export function applyExpand(emu: Emulator, value: JsonObject, expandParam: unknown): JsonObject {
  const paths = arr(expandParam).map(String);
  expandObject(emu, value, expandTree(paths));
  return value;
}

const includableOf = (value: JsonObject): string[] =>
  typeof value.object === "string" ? (INCLUDABLE[value.object] ?? []) : [];

function expandNode(emu: Emulator, value: unknown, tree: Tree): unknown {
  if (Array.isArray(value)) return value.map((v) => expandNode(emu, v, tree));
  if (isJsonObject(value)) expandObject(emu, value, tree);
  return value;
}

/** An id or a list of ids becomes the rendered object(s) they name. */
function expandIds(emu: Emulator, child: unknown): unknown {
  const render = (id: string) => {
    const found = emu.state.find(id);
    return found ? emu.state.render(found) : id;
  };
  if (typeof child === "string") return render(child);
  if (Array.isArray(child)) return child.map((c) => (typeof c === "string" ? render(c) : c));
  return child;
}

function expandObject(emu: Emulator, value: JsonObject, tree: Tree): void {
  for (const key of includableOf(value)) {
    if (!tree.has(key)) delete value[key];
  }
  for (const [key, sub] of tree) {
    if (!(key in value)) {
      if (value.object === "list" || value.object === "search_result") continue;
      throw invalid(`This property cannot be expanded (${key}).`, "expand");
    }
    value[key] = expandNode(emu, expandIds(emu, value[key]), sub);
  }
  // Nested objects that were not expanded still hide their includable fields.
  for (const [key, child] of Object.entries(value)) {
    if (!tree.has(key)) stripIncludable(child);
  }
}

export function stripIncludable(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) stripIncludable(v);
    return;
  }
  if (!isJsonObject(value)) return;
  for (const key of includableOf(value)) delete value[key];
  for (const child of Object.values(value)) stripIncludable(child);
}
