import type { SupportedOrderType } from "@bridge/domain";
import type { Action } from "../context.ts";
import { cancelSubscription } from "./cancel-subscription.ts";
import { changeAddress } from "./change-address.ts";
import { changeOffer } from "./change-offer.ts";
import { changePayment } from "./change-payment.ts";
import { newOrder } from "./new-order.ts";

/** One action per Limio order type. */
export const actions: Record<SupportedOrderType, Action> = {
  new: newOrder,
  cancel_subscription: cancelSubscription,
  change_address: changeAddress,
  change_payment: changePayment,
  change_offer: changeOffer,
};
