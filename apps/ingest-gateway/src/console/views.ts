// Pure shaping of store rows into what the console pages show.

type OrderRow = {
  id: string;
  reference: string;
  type: string;
  source: string;
  status: string;
  subscriptionId: string;
  externalId: string | null;
  correlationId: string | null;
  payload: unknown;
  outcome: unknown;
  createdAt: Date;
  updatedAt: Date;
};
type StepRow = { step: string; result: unknown; completedAt: Date };
type EventRow = {
  id: string;
  type: string;
  source: string;
  causeId: string | null;
  changes: unknown;
  createdAt: Date;
};

export type StoredOutcome = {
  status?: string;
  action?: string;
  stripe?: Record<string, string>;
  error?: { code: string; message: string; stripeCode?: string };
  completedAt?: string;
};

const SECRET_FIELDS = new Set(["clientSecret", "client_secret", "secret"]);

/** A copy with client secrets blanked: outcome messages may carry one, the console never shows it. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_FIELDS.has(k) ? "[redacted]" : redactSecrets(v)]),
  );
}

const outcomeOf = (order: { outcome: unknown }): StoredOutcome => (order.outcome ?? {}) as StoredOutcome;

export function orderSummary(order: OrderRow) {
  const outcome = outcomeOf(order);
  return {
    id: order.id,
    reference: order.reference,
    type: order.type,
    source: order.source,
    status: order.status,
    subscriptionId: order.subscriptionId,
    externalId: order.externalId,
    action: outcome.action ?? null,
    error: outcome.error ?? null,
    stripe: outcome.stripe ?? {},
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

const STRIPE_ID = /^(cus|sub|sub_sched|in|pi|seti|pm|prod|price|si)_[A-Za-z0-9]+$/;

/** Stripe ids anywhere in a step's recorded result, so the timeline names them without opening it. */
export function stripeIdsIn(value: unknown, found: string[] = []): string[] {
  if (typeof value === "string" && STRIPE_ID.test(value) && !found.includes(value)) found.push(value);
  else if (value && typeof value === "object") for (const v of Object.values(value)) stripeIdsIn(v, found);
  return found;
}

export type TimelineEntry = {
  at: string;
  stage: "request" | "stripe" | "limio";
  title: string;
  detail: unknown;
};

/**
 * From request to Stripe to Limio: the order as received, each Stripe step the writer completed
 * (with the ids it recorded), the writer's outcome, then what the sync-consumer recorded.
 */
export function orderTimeline(order: OrderRow, steps: StepRow[], events: EventRow[]): TimelineEntry[] {
  const outcome = outcomeOf(order);
  const entries: TimelineEntry[] = [
    {
      at: order.createdAt.toISOString(),
      stage: "request",
      title: `${order.type} order received from ${order.source}`,
      detail: redactSecrets(order.payload),
    },
    ...steps.map((step) => ({
      at: step.completedAt.toISOString(),
      stage: "stripe" as const,
      title: [`Stripe step: ${step.step}`, ...stripeIdsIn(step.result).slice(0, 3)].join(" · "),
      detail: redactSecrets(step.result),
    })),
  ];
  if (outcome.status) {
    entries.push({
      at: outcome.completedAt ?? order.updatedAt.toISOString(),
      stage: "stripe",
      title: `Writer outcome: ${outcome.status}${outcome.action ? ` (${outcome.action})` : ""}`,
      detail: { stripe: outcome.stripe ?? {}, ...(outcome.error ? { error: outcome.error } : {}) },
    });
  }
  for (const event of events) {
    entries.push({
      at: event.createdAt.toISOString(),
      stage: "limio",
      title: `Limio: ${event.type} (${event.source})`,
      detail: event.changes,
    });
  }
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}

type SubscriptionRow = {
  status: string;
  stripeStatus: string | null;
  cancelAtTermEnd: boolean;
  termStart: Date | null;
  termEnd: Date | null;
  stripeCustomerId: string | null;
  stripeSubscriptionId: string | null;
  stripeScheduleId: string | null;
  stripeRaw: unknown;
  paymentMethod: { stripePaymentMethodId: string } | null;
};

type RawStripeSubscription = {
  id?: string;
  status?: string;
  customer?: string | { id?: string };
  cancel_at_period_end?: boolean;
  default_payment_method?: string | { id?: string } | null;
  schedule?: string | { id?: string } | null;
  items?: { data?: { current_period_start?: number; current_period_end?: number }[] };
};

const idOf = (value: string | { id?: string } | null | undefined) =>
  typeof value === "string" ? value : (value?.id ?? null);
const iso = (date: Date | null) => date?.toISOString() ?? null;
const fromUnix = (seconds: number | undefined) =>
  seconds === undefined ? null : new Date(seconds * 1000).toISOString();

export type ComparisonRow = { field: string; limio: unknown; stripe: unknown; agrees: boolean };

/**
 * Limio's record beside the Stripe subscription as last synced (the raw JSON the store keeps).
 * The billing period is read from the subscription item: Stripe moved it there in 2025-03-31.
 * Limio's status is coarser than Stripe's (past_due and unpaid are `active` in Limio), so the
 * status row compares Stripe's status with the one the store recorded beside Limio's.
 */
export function compareWithStripe(sub: SubscriptionRow): ComparisonRow[] {
  const raw = (sub.stripeRaw ?? {}) as RawStripeSubscription;
  const item = raw.items?.data?.[0];
  const row = (field: string, limio: unknown, stripe: unknown): ComparisonRow => ({
    field,
    limio,
    stripe,
    agrees: JSON.stringify(limio ?? null) === JSON.stringify(stripe ?? null),
  });
  return [
    row("Stripe subscription", sub.stripeSubscriptionId, raw.id ?? null),
    row("Status (Stripe's, as recorded)", sub.stripeStatus, raw.status ?? null),
    row("Customer", sub.stripeCustomerId, idOf(raw.customer)),
    row("Cancel at term end", sub.cancelAtTermEnd, raw.cancel_at_period_end ?? false),
    row("Term start", iso(sub.termStart), fromUnix(item?.current_period_start)),
    row("Term end", iso(sub.termEnd), fromUnix(item?.current_period_end)),
    row("Schedule", sub.stripeScheduleId, idOf(raw.schedule)),
    row("Payment method", sub.paymentMethod?.stripePaymentMethodId ?? null, idOf(raw.default_payment_method)),
  ];
}
