import { z } from "zod";
import { seededRandom } from "../state.ts";

const faultRuleSchema = z.object({
  error500: z.number().min(0).max(1).default(0),
  rateLimit429: z.number().min(0).max(1).default(0),
  /** Uniform delay range in ms, or a fixed delay. */
  delayMs: z
    .union([z.tuple([z.number().int().min(0), z.number().int().min(0)]), z.number().int().min(0)])
    .optional(),
  /** Stop injecting errors after this many (e.g. 1 = only the first matching request fails). */
  limit: z.number().int().min(0).optional(),
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

export type FaultDecision = { kind: "none" | "error500" | "rateLimit429"; delayMs: number };

/**
 * Seeded fault injection per endpoint. Rules are keyed `"METHOD /v1/route/:param"` (the route
 * pattern), `"METHOD /v1/exact/path"`, `"METHOD *"` or `"*"`.
 */
export class FaultInjector {
  private rules = new Map<string, FaultRule>();
  private injected = new Map<string, number>();
  private rng: () => number = seededRandom(1);
  private seed = 1;

  /** `{ seed?, rules: { "POST /v1/subscriptions": {...} } }` or the rules map alone. */
  configure(input: unknown): void {
    const obj = (input ?? {}) as Record<string, unknown>;
    const wrapped = typeof obj.rules === "object" && obj.rules !== null;
    this.seed = wrapped && typeof obj.seed === "number" ? obj.seed : 1;
    const rules = z.record(z.string(), faultRuleSchema).parse(wrapped ? obj.rules : obj);
    this.rng = seededRandom(this.seed);
    this.rules = new Map(Object.entries(rules).map(([k, v]) => [k.trim(), v]));
    this.injected.clear();
  }

  clear(): void {
    this.rules.clear();
    this.injected.clear();
  }

  describe(): { seed: number; rules: Record<string, FaultRule> } {
    return { seed: this.seed, rules: Object.fromEntries(this.rules) };
  }

  decide(method: string, route: string | null, path: string): FaultDecision {
    const key = [route ? `${method} ${route}` : null, `${method} ${path}`, `${method} *`, "*"].find(
      (k): k is string => k !== null && this.rules.has(k),
    );
    const rule = key ? this.rules.get(key) : undefined;
    if (!key || !rule) return { kind: "none", delayMs: 0 };
    let delayMs = 0;
    if (Array.isArray(rule.delayMs)) {
      const [lo, hi] = rule.delayMs;
      delayMs = Math.round(lo + this.rng() * Math.max(0, hi - lo));
    } else if (typeof rule.delayMs === "number") delayMs = rule.delayMs;
    const roll = this.rng();
    const used = this.injected.get(key) ?? 0;
    if (rule.limit !== undefined && used >= rule.limit) return { kind: "none", delayMs };
    let kind: FaultDecision["kind"] = "none";
    if (roll < rule.error500) kind = "error500";
    else if (roll < rule.error500 + rule.rateLimit429) kind = "rateLimit429";
    if (kind !== "none") this.injected.set(key, used + 1);
    return { kind, delayMs };
  }
}
