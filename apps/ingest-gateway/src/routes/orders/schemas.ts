import {
  limioCancelSubscriptionOrderSchema,
  limioChangeAddressOrderSchema,
  limioChangeOfferOrderSchema,
  limioChangePaymentOrderSchema,
  limioNewOrderSchema,
  orderOutcomeStatuses,
} from "@bridge/domain";
import { z } from "zod";

export const orderStatuses = ["queued", "processing", ...orderOutcomeStatuses] as const;
export const finalStatuses: readonly string[] = orderOutcomeStatuses;

/**
 * The bridge's order statuses next to Limio's (docs/api-statuses.md, decision 021): Limio's
 * Send Order API documents one status value, `complete`; the bridge keeps its own words, which
 * say more (waiting for the customer, skipped), and this table maps them.
 */
export const statusMappingDescription =
  "The bridge's status (docs/api-statuses.md maps it to Limio's): " +
  "`queued` (Limio: accepted, process_immediately false) the order is durably in Kafka, not applied yet; " +
  "`processing` (Limio: accepted) the writer is applying it; " +
  "`applied` (Limio: `complete`) Stripe's state proves the order; " +
  "`requires_action` (Limio: none; the order waits for the customer) the shop confirms the payment or " +
  "SetupIntent with `clientSecret`, then the order turns applied or failed; " +
  "`failed` (Limio: the order fails with its reason) nothing was charged, see `reason`; " +
  "`skipped` (Limio: `complete`, nothing to do) the change came from Stripe or was already applied.";

const newOrderExample = {
  order_type: "new",
  external_id: "EXT-ORD-12345",
  source: "shop",
  process_immediately: false,
  checkoutId: "basket-0b7e5c1e-3f5a-4c8e-9d2a-6a1f0c4b8e21",
  country: "GB",
  orderItems: [{ offer: { id: "f9a4695c077b2d1446d4fd8ebfd071b428e90899" }, quantity: 1 }],
  customerDetails: { firstName: "Ada", lastName: "Lovelace", email: "ada.lovelace@example.com" },
  billingDetails: { firstName: "Ada", lastName: "Lovelace", address1: "12 St James's Square", country: "GB" },
  payment: { type: "stripe", stripe: { result: { paymentMethod: "pm_1Pgc75B7WZ01zgkWlHVgdEGJ" } } },
};

/**
 * Limio's Send Order body: one of the supported order types. Documentation and a first check;
 * the handler validates and normalises with the domain's parseLimioOrder for field-level errors.
 */
export const submitOrderBody = z
  .discriminatedUnion("order_type", [
    limioNewOrderSchema,
    limioCancelSubscriptionOrderSchema,
    limioChangeAddressOrderSchema,
    limioChangePaymentOrderSchema,
    limioChangeOfferOrderSchema,
  ])
  .meta({
    id: "LimioOrder",
    description:
      "A Limio order (Send Order API). `process_immediately: true` waits for the order's outcome " +
      "(bounded by WAIT_TIMEOUT_MS); otherwise the order is queued and the answer is 202. " +
      "Edge limits, configurable (400 naming the field): no NUL or unpaired surrogate in any string or " +
      "field name, strings up to 10,000 characters, nesting up to 16 levels, arrays up to 100 items " +
      "(orderItems up to 20), up to 1,000 fields in all, quantity up to 100, amounts up to 99,999,999 " +
      "minor units; bodies up to 256 KiB (else 413).",
    examples: [
      newOrderExample,
      {
        order_type: "cancel_subscription",
        external_id: "EXT-CANCEL-0042",
        source: "shop",
        subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
        cancelDate: "2026-12-21",
      },
    ],
  });

export const orderAnswerSchema = z
  .object({
    id: z.string().meta({
      description:
        "Limio order id `order-<32 hex>`: the order's own `id` when it carries one, else derived from the idempotency identity",
    }),
    order_reference: z.string().meta({
      description:
        "12-character order reference: the order's own `order_reference` when it carries one, else minted",
    }),
    status: z.enum(orderStatuses).meta({ description: statusMappingDescription }),
    external_id: z.string().nullable(),
    subscriptionId: z.string().meta({ description: "Limio subscription id `sub-<32 hex>`" }),
    subscriptionReference: z.string().meta({
      description:
        "12-character subscription reference, the same in every answer and in GET /api/subscriptions/{id}: " +
        "a new order's own `sub_reference` when it carries one, else minted; the subscription's for other orders",
    }),
    owner: z.string().nullable().meta({
      description: "The order's `owner` (Limio identity `id-<32 hex>`) as it was sent; null without one",
    }),
    limioSync: z
      .enum(["synced", "pending"])
      .optional()
      .meta({
        description:
          "With status `applied`: `synced` once the Limio subscription shows what the order did " +
          "(the sync the writer requested after it was applied); `pending` while that sync has not " +
          "run yet (the sync-consumer is behind or down): Stripe's state is final, the Limio " +
          "subscription catches up, and GET /api/subscriptions/{id} may answer 404 for a new one until then.",
      }),
    reason: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .meta({ description: "Why the order failed (status failed)" }),
    clientSecret: z
      .object({
        type: z.enum(["invoice_confirmation_secret", "payment_intent", "setup_intent"]),
        value: z.string(),
      })
      .optional()
      .meta({
        description:
          "For process_immediately orders that need the browser to finish payment: the secret to " +
          "confirm with Stripe.js. Never logged or stored by the bridge.",
      }),
  })
  .meta({
    id: "OrderAnswer",
    examples: [
      {
        id: "order-3f0c8a4e1b2d4c6e8f0a1b2c3d4e5f60",
        order_reference: "8HK92PM4Q7WX",
        status: "queued",
        external_id: "EXT-ORD-12345",
        subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
        subscriptionReference: "29CVV5SJFRQ2",
        owner: "id-62401f8d5bf6b26a37ea0defd66fd005",
      },
    ],
  });
export type OrderAnswer = z.infer<typeof orderAnswerSchema>;
