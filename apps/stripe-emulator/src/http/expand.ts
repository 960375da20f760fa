import type { Emulator } from "../context.ts";
import type { StripeObject } from "../types.ts";
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
export function applyExpand(emu: Emulator, value: StripeObject, expandParam: unknown): StripeObject {
  const paths = arr(expandParam).map(String);
  return expandNode(emu, value, expandTree(paths));
}

function expandNode(emu: Emulator, value: StripeObject, tree: Tree): StripeObject {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => expandNode(emu, v, tree));
  const includable = INCLUDABLE[value.object as string] ?? [];
  for (const key of includable) {
    if (!tree.has(key)) delete value[key];
  }
  for (const [key, sub] of tree) {
    if (!(key in value)) {
      if (value.object === "list" || value.object === "search_result") continue;
      throw invalid(`This property cannot be expanded (${key}).`, "expand");
    }
    let child = value[key];
    if (typeof child === "string") {
      const found = emu.state.find(child);
      if (!found) continue;
      child = emu.state.render(found);
    } else if (Array.isArray(child)) {
      child = child.map((c) => {
        if (typeof c !== "string") return c;
        const found = emu.state.find(c);
        return found ? emu.state.render(found) : c;
      });
    }
    value[key] = expandNode(emu, child, sub);
  }
  // Nested objects that were not expanded still hide their includable fields.
  for (const [key, child] of Object.entries(value)) {
    if (!tree.has(key) && child && typeof child === "object") stripIncludable(child);
  }
  return value;
}

export function stripIncludable(value: StripeObject): void {
  if (Array.isArray(value)) {
    for (const v of value) if (v && typeof v === "object") stripIncludable(v);
    return;
  }
  for (const key of INCLUDABLE[value.object as string] ?? []) delete value[key];
  for (const child of Object.values(value)) if (child && typeof child === "object") stripIncludable(child);
}
