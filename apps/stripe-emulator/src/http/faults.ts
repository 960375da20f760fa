import { z } from "zod";
import { seededRandom } from "../state.ts";

export const faultRuleSchema = z.object({
  error500: z.number().min(0).max(1).default(0),
  rateLimit429: z.number().min(0).max(1).default(0),
  /** Uniform delay range in ms, or a fixed delay. */
  delayMs: z
    .union([z.tuple([z.number().int().min(0), z.number().int().min(0)]), z.number().int().min(0)])
    .optional(),
});
export type FaultRule = z.infer<typeof faultRuleSchema>;

export type FaultDecision = { kind: "none" | "error500" | "rateLimit429"; delayMs: number };

/**
 * Seeded fault injection per endpoint. Rules are keyed `"METHOD /v1/route/:param"` (the route
 * pattern), `"METHOD /v1/exact/path"`, `"METHOD *"` or `"*"`.
 */
export class FaultInjector {
  private rules = new Map<string, FaultRule>();
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
  }

  clear(): void {
    this.rules.clear();
  }

  describe(): { seed: number; rules: Record<string, FaultRule> } {
    return { seed: this.seed, rules: Object.fromEntries(this.rules) };
  }

  decide(method: string, route: string | null, path: string): FaultDecision {
    const rule =
      (route ? this.rules.get(`${method} ${route}`) : undefined) ??
      this.rules.get(`${method} ${path}`) ??
      this.rules.get(`${method} *`) ??
      this.rules.get("*");
    if (!rule) return { kind: "none", delayMs: 0 };
    let delayMs = 0;
    if (Array.isArray(rule.delayMs)) {
      const [lo, hi] = rule.delayMs;
      delayMs = Math.round(lo + this.rng() * Math.max(0, hi - lo));
    } else if (typeof rule.delayMs === "number") delayMs = rule.delayMs;
    const roll = this.rng();
    if (roll < rule.error500) return { kind: "error500", delayMs };
    if (roll < rule.error500 + rule.rateLimit429) return { kind: "rateLimit429", delayMs };
    return { kind: "none", delayMs };
  }
}
