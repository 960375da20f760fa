import { DomainRuleError } from "../errors.ts";

/**
 * A rule cannot express part of an order in Stripe. It names the order field (dotted path, as
 * the gateway reports it: `orderDiscount.discountOverrides.durationLength`, `orderItems.1`), so
 * the order is refused with `unsupported_field` instead of being billed without it.
 */
export class FieldRefusal extends DomainRuleError {
  readonly path: string;
  constructor(path: string, message: string) {
    super("unsupported_field", `${path}: ${message}`);
    this.name = "FieldRefusal";
    this.path = path;
  }
}

export const refuse = (path: string, message: string): never => {
  throw new FieldRefusal(path, message);
};

/** Runs a rule; a FieldRefusal becomes a value (for callers that answer with it, and tests). */
export function refusalOf(run: () => unknown): FieldRefusal | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (e instanceof FieldRefusal) return e;
    throw e;
  }
}
