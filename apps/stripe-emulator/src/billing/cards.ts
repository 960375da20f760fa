/** How a test card behaves when charged (attach always succeeds in the emulator). */
export type CardBehavior =
  | "succeed"
  | "decline_generic"
  | "decline_insufficient_funds"
  | "decline_after_attach";

export type TestCard = {
  brand: string;
  last4: string;
  funding: "credit" | "debit";
  country: string;
  behavior: CardBehavior;
};

/** Stripe's documented test PaymentMethod ids and tokens. */
export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: "visa", last4: "4242", funding: "credit", country: "US", behavior: "succeed" },
  pm_card_visa_debit: { brand: "visa", last4: "5556", funding: "debit", country: "US", behavior: "succeed" },
  pm_card_mastercard: {
    brand: "mastercard",
    last4: "4444",
    funding: "credit",
    country: "US",
    behavior: "succeed",
  },
  pm_card_amex: { brand: "amex", last4: "8431", funding: "credit", country: "US", behavior: "succeed" },
  pm_card_chargeDeclined: {
    brand: "visa",
    last4: "0002",
    funding: "credit",
    country: "US",
    behavior: "decline_generic",
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    funding: "credit",
    country: "US",
    behavior: "decline_insufficient_funds",
  },
  pm_card_chargeCustomerFail: {
    brand: "visa",
    last4: "0341",
    funding: "credit",
    country: "US",
    behavior: "decline_after_attach",
  },
};

const TOKENS: Record<string, string> = {
  tok_visa: "pm_card_visa",
  tok_mastercard: "pm_card_mastercard",
  tok_amex: "pm_card_amex",
  tok_chargeDeclined: "pm_card_chargeDeclined",
  tok_chargeDeclinedInsufficientFunds: "pm_card_chargeDeclinedInsufficientFunds",
  tok_chargeCustomerFail: "pm_card_chargeCustomerFail",
};

export function testCardFor(idOrToken: string): TestCard | undefined {
  return TEST_CARDS[idOrToken] ?? TEST_CARDS[TOKENS[idOrToken] ?? ""];
}

export type ChargeOutcome = { ok: true } | { ok: false; code: string; declineCode: string; message: string };

export function chargeOutcome(behavior: CardBehavior): ChargeOutcome {
  switch (behavior) {
    case "succeed":
      return { ok: true };
    case "decline_insufficient_funds":
      return {
        ok: false,
        code: "card_declined",
        declineCode: "insufficient_funds",
        message: "Your card has insufficient funds.",
      };
    default:
      return {
        ok: false,
        code: "card_declined",
        declineCode: "generic_decline",
        message: "Your card was declined.",
      };
  }
}
