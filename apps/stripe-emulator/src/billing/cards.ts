/**
 * Stripe's documented test cards (https://docs.stripe.com/testing), as PaymentMethod ids
 * (`pm_card_…`) and tokens (`tok_…`), with the behaviour Stripe documents for each:
 *
 * - "Declined payments": the cards of that table "can't be attached to a Customer object";
 *   attaching (or confirming with) one fails with `card_error` and the listed code / decline_code.
 * - "Decline after attaching" (`pm_card_chargeCustomerFail`, 4000000000000341): attaching succeeds,
 *   every charge then fails with `card_declined` / `generic_decline`.
 * - "Authentication and setup" (3-D Secure): `pm_card_authenticationRequired` (4000002760003184,
 *   "requires authentication on all transactions, regardless of how the card is set up"),
 *   `pm_card_threeDSecure2Required` (4000000000003220, "3D Secure 2 authentication must be
 *   completed for the payment to be successful"), `pm_card_authenticationRequiredOnSetup`
 *   (4000002500003155, "requires authentication for one-time payments. However, if you set up
 *   this card using the Setup Intents API and use the saved card for subsequent payments, no
 *   further authentication is needed"), and
 *   `pm_card_authenticationRequiredChargeDeclinedInsufficientFunds` (4000008260003178: requires
 *   authentication, then the charge is declined for insufficient funds).
 */

/** A refusal Stripe answers as `card_error` with these codes. */
export type Decline = { code: string; declineCode: string; message: string };

/** When a card asks for 3-D Secure. */
type Authentication = "none" | "always" | "unless_set_up";

export type TestCard = {
  brand: string;
  last4: string;
  funding: "credit" | "debit";
  country: string;
  /** Refused when attached to a customer (and on any charge). */
  declineOnAttach?: Decline;
  /** Attaches, but every charge fails. */
  declineOnCharge?: Decline;
  authentication: Authentication;
};

const GENERIC: Decline = {
  code: "card_declined",
  declineCode: "generic_decline",
  message: "Your card was declined.",
};
const INSUFFICIENT: Decline = {
  code: "card_declined",
  declineCode: "insufficient_funds",
  message: "Your card has insufficient funds.",
};

const visa = (last4: string, extra: Partial<TestCard> = {}): TestCard => ({
  brand: "visa",
  last4,
  funding: "credit",
  country: "US",
  authentication: "none",
  ...extra,
});

/** Stripe's documented test PaymentMethod ids. */
const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: visa("4242"),
  pm_card_visa_debit: visa("5556", { funding: "debit" }),
  pm_card_mastercard: { ...visa("4444"), brand: "mastercard" },
  pm_card_amex: { ...visa("8431"), brand: "amex" },
  pm_card_gb: { ...visa("0000"), country: "GB" },
  // Declined payments (cannot be attached).
  pm_card_visa_chargeDeclined: visa("0002", { declineOnAttach: GENERIC }),
  pm_card_chargeDeclined: visa("0002", { declineOnAttach: GENERIC }),
  pm_card_visa_chargeDeclinedInsufficientFunds: visa("9995", { declineOnAttach: INSUFFICIENT }),
  pm_card_chargeDeclinedInsufficientFunds: visa("9995", { declineOnAttach: INSUFFICIENT }),
  pm_card_visa_chargeDeclinedLostCard: visa("9987", {
    declineOnAttach: { code: "card_declined", declineCode: "lost_card", message: "Your card was declined." },
  }),
  pm_card_visa_chargeDeclinedStolenCard: visa("9979", {
    declineOnAttach: {
      code: "card_declined",
      declineCode: "stolen_card",
      message: "Your card was declined.",
    },
  }),
  pm_card_chargeDeclinedExpiredCard: visa("0069", {
    declineOnAttach: { code: "expired_card", declineCode: "expired_card", message: "Your card has expired." },
  }),
  pm_card_chargeDeclinedIncorrectCvc: visa("0127", {
    declineOnAttach: {
      code: "incorrect_cvc",
      declineCode: "incorrect_cvc",
      message: "Your card's security code is incorrect.",
    },
  }),
  pm_card_chargeDeclinedProcessingError: visa("0119", {
    declineOnAttach: {
      code: "processing_error",
      declineCode: "processing_error",
      message: "An error occurred while processing your card. Try again in a little bit.",
    },
  }),
  pm_card_visa_chargeDeclinedVelocityLimitExceeded: visa("6975", {
    declineOnAttach: {
      code: "card_declined",
      declineCode: "card_velocity_exceeded",
      message: "Your card was declined.",
    },
  }),
  // Decline after attaching.
  pm_card_chargeCustomerFail: visa("0341", { declineOnCharge: GENERIC }),
  // Authentication (3-D Secure).
  pm_card_authenticationRequired: visa("3184", { authentication: "always" }),
  pm_card_threeDSecure2Required: visa("3220", { authentication: "always" }),
  pm_card_threeDSecureRequired: visa("3063", { authentication: "always" }),
  pm_card_authenticationRequiredOnSetup: visa("3155", { authentication: "unless_set_up" }),
  pm_card_authenticationRequiredChargeDeclinedInsufficientFunds: visa("3178", {
    authentication: "always",
    declineOnCharge: INSUFFICIENT,
  }),
};

/** Tokens name the same cards (`tok_visa` is 4242…, `tok_chargeDeclined` is 4000000000000002). */
const TOKENS: Record<string, string> = {
  tok_visa: "pm_card_visa",
  tok_visa_debit: "pm_card_visa_debit",
  tok_mastercard: "pm_card_mastercard",
  tok_amex: "pm_card_amex",
  tok_gb: "pm_card_gb",
  tok_chargeDeclined: "pm_card_chargeDeclined",
  tok_visa_chargeDeclined: "pm_card_visa_chargeDeclined",
  tok_chargeDeclinedInsufficientFunds: "pm_card_chargeDeclinedInsufficientFunds",
  tok_visa_chargeDeclinedInsufficientFunds: "pm_card_visa_chargeDeclinedInsufficientFunds",
  tok_visa_chargeDeclinedLostCard: "pm_card_visa_chargeDeclinedLostCard",
  tok_visa_chargeDeclinedStolenCard: "pm_card_visa_chargeDeclinedStolenCard",
  tok_chargeDeclinedExpiredCard: "pm_card_chargeDeclinedExpiredCard",
  tok_chargeDeclinedIncorrectCvc: "pm_card_chargeDeclinedIncorrectCvc",
  tok_chargeDeclinedProcessingError: "pm_card_chargeDeclinedProcessingError",
  tok_visa_chargeDeclinedVelocityLimitExceeded: "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
  tok_chargeCustomerFail: "pm_card_chargeCustomerFail",
  tok_authenticationRequired: "pm_card_authenticationRequired",
  tok_threeDSecure2Required: "pm_card_threeDSecure2Required",
  tok_threeDSecureRequired: "pm_card_threeDSecureRequired",
  tok_authenticationRequiredOnSetup: "pm_card_authenticationRequiredOnSetup",
  tok_authenticationRequiredChargeDeclinedInsufficientFunds:
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds",
};

export function testCardFor(idOrToken: string): TestCard | undefined {
  return TEST_CARDS[idOrToken] ?? TEST_CARDS[TOKENS[idOrToken] ?? ""];
}

/** What a card does with a payment, as stored on the PaymentMethod (`_card`). */
export type CardBehavior = Pick<TestCard, "declineOnAttach" | "declineOnCharge" | "authentication">;

/** The decline a charge on this card ends with once authentication (if any) is done; null = paid. */
export function chargeDecline(card: CardBehavior | undefined): Decline | null {
  return card?.declineOnAttach ?? card?.declineOnCharge ?? null;
}

/** Whether a payment needs 3-D Secure: `setUp` when the card was saved through a SetupIntent. */
export function needsAuthentication(card: CardBehavior | undefined, setUp: boolean): boolean {
  if (!card || card.authentication === "none") return false;
  return card.authentication === "always" || !setUp;
}

/** Whether confirming a SetupIntent with this card asks for 3-D Secure (every 3DS card does). */
export function setupNeedsAuthentication(card: CardBehavior | undefined): boolean {
  return card !== undefined && card.authentication !== "none";
}
