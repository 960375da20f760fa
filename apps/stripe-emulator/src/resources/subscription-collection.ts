import { chargeDecline, needsAuthentication } from "../billing/cards.ts";
import type { Emulator } from "../context.ts";
import { cardError, invalid } from "../http/errors.ts";
import type { Stored } from "../state.ts";
import { idOf } from "../types.ts";

/** Who pays: a subscription, or the one a create or update is about to make (its default payment method). */
type Payer = Pick<Stored<"subscription">, "default_payment_method">;

/** Whether Stripe could collect a payment now, as `error_if_incomplete` and `pending_if_incomplete` ask. */
export function chargeablePaymentMethod(
  emu: Emulator,
  sub: Payer,
  customer: Stored<"customer">,
): Stored<"payment_method"> | null {
  const ref = sub.default_payment_method ?? customer.invoice_settings.default_payment_method;
  return ref ? (emu.state.get("payment_method", idOf(ref)) ?? null) : null;
}

export function wouldFailToCollect(
  emu: Emulator,
  sub: Payer,
  customer: Stored<"customer">,
  amount: number,
): boolean {
  if (amount <= 0) return false;
  const pm = chargeablePaymentMethod(emu, sub, customer);
  return !pm || chargeDecline(pm._card) !== null || needsAuthentication(pm._card, pm._set_up === true);
}

/** Stripe's error_if_incomplete: refuse before changing anything when the charge would fail. */
export function precheckPayment(
  emu: Emulator,
  sub: Payer,
  customer: Stored<"customer">,
  amount: number,
): void {
  if (amount <= 0) return;
  const pm = chargeablePaymentMethod(emu, sub, customer);
  if (!pm) {
    throw invalid(
      "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
      undefined,
      "resource_missing",
    );
  }
  const decline = chargeDecline(pm._card);
  if (decline)
    throw cardError(decline.message, decline.code, decline.declineCode, {
      payment_method: emu.state.render(pm),
    });
  // "error_if_incomplete: … if a payment method requires 3DS authentication … returns an error
  // instead" (docs.stripe.com/api/subscriptions/create#create_subscription-payment_behavior).
  if (needsAuthentication(pm._card, pm._set_up === true))
    throw cardError(
      "This payment requires additional user action before it can be completed successfully.",
      "invoice_payment_intent_requires_action",
      undefined,
      { payment_method: emu.state.render(pm) },
    );
}

/** A subscription's `default_payment_method` must be attached to its customer. */
export function requireAttachedMethod(emu: Emulator, paymentMethodId: string, customerId: string): void {
  const pm = emu.state.get("payment_method", paymentMethodId);
  if (!pm || pm.customer !== customerId) {
    throw invalid(
      `The customer does not have a payment method with the ID ${paymentMethodId}. The payment method must be attached to the customer.`,
      "default_payment_method",
      "resource_missing",
    );
  }
}
