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

/** A refused field: its dotted path ("(root)" for the whole value) and what is wrong with it. */
export type FieldError = { path: string; message: string };

/** Zod's issues as field errors, the shape every refusal (HTTP 400, failed parse) reports. */
export function fieldErrorsOf(
  issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>,
): FieldError[] {
  return issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));
}
