import { DomainRuleError } from "../errors.ts";

/**
 * Decimal amounts → Stripe minor units. Strings are parsed digit by digit (never through a
 * float multiply, where 1.005 * 100 = 100.49999…).
 */

/** Stripe's zero-decimal currencies: the amount is already in the smallest unit. */
export const ZERO_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set([
  "BIF",
  "CLP",
  "DJF",
  "GNF",
  "JPY",
  "KMF",
  "KRW",
  "MGA",
  "PYG",
  "RWF",
  "UGX",
  "VND",
  "VUV",
  "XAF",
  "XOF",
  "XPF",
]);

/** Three-decimal currencies: Stripe charges the minor amount only in multiples of 10. */
export const THREE_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

export function currencyExponent(currency: string): 0 | 2 | 3 {
  const c = currency.toUpperCase();
  if (ZERO_DECIMAL_CURRENCIES.has(c)) return 0;
  if (THREE_DECIMAL_CURRENCIES.has(c)) return 3;
  return 2;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

function decimalText(amount: string | number): string {
  if (typeof amount === "number") {
    if (!Number.isFinite(amount))
      throw new DomainRuleError("invalid_amount", `amount ${amount} is not finite`);
    // String(9.99) === "9.99": JS prints the shortest text that round-trips, i.e. what the author typed.
    return String(amount);
  }
  return amount.trim();
}

/**
 * "9.99" GBP → 999; "500" JPY → 500; "1.230" KWD → 1230. Digits beyond the currency's precision
 * are refused (a catalog price that cannot be charged exactly is a catalog mistake, not something
 * to round silently); trailing zeros are fine ("500.00" JPY → 500). Stripe charges three-decimal
 * currencies only in multiples of 10 minor units (https://docs.stripe.com/currencies#three-decimal),
 * so "1.235" KWD is refused too rather than billed as 1.240.
 */
export function toMinorUnits(amount: string | number, currency: string): number {
  const text = decimalText(amount);
  const m = DECIMAL.exec(text);
  if (!m)
    throw new DomainRuleError("invalid_amount", `amount '${text}' is not a non-negative decimal number`);
  const whole = m[1]!;
  const fraction = (m[2] ?? "").replace(/0+$/, "");
  const exp = currencyExponent(currency);
  if (fraction.length > exp) {
    throw new DomainRuleError(
      "invalid_amount",
      `amount '${text}' has more decimals than ${currency.toUpperCase()} allows (${exp})`,
    );
  }
  const minorText = whole + fraction.padEnd(exp, "0");
  const minor = BigInt(minorText);
  if (exp === 3 && minor % 10n !== 0n) {
    throw new DomainRuleError(
      "invalid_amount",
      `amount '${text}' cannot be charged exactly in ${currency.toUpperCase()}: Stripe takes its last decimal as 0`,
    );
  }
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DomainRuleError("invalid_amount", `amount '${text}' is too large`);
  }
  return Number(minor);
}

/** 999 GBP → "9.99"; 500 JPY → "500"; 1240 KWD → "1.240". For display and Limio's decimal fields. */
export function fromMinorUnits(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor))
    throw new DomainRuleError("invalid_amount", `minor amount ${minor} is not an integer`);
  const exp = currencyExponent(currency);
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(minor)).padStart(exp + 1, "0");
  if (exp === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
}
