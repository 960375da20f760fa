/**
 * A business rule refused its input (bad catalog data, currency mismatch…). Permanent: retrying
 * the same message cannot succeed, so consumers fail the order with `code` + `message`.
 */
export class DomainRuleError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "DomainRuleError";
    this.code = code;
  }
}
