import {
  billedOffer,
  buildSubscriptionPatch,
  generateLimioId,
  type LimioSubscriptionPatch,
  type PaymentMethodSummary,
  type PaymentSchedule,
  type PaymentScheduleFromStripe,
  reconcileSchedules,
} from "@bridge/domain";
import {
  createPaymentSchedule,
  deletePaymentMethod,
  type FieldChanges,
  findOffer,
  type LockedSubscription,
  lockSubscriptionForSync,
  type SyncedSubscriptionColumns,
  setPaymentMethod,
  type Tx,
  updatePaymentSchedule,
  updateSyncedSubscription,
} from "@bridge/store";
import { recordSubscriptionChange } from "./change-events.ts";
import type { SyncDeps } from "./deps.ts";
import { fetchStripeState, type InvoiceRead, invoicePlanFor } from "./fetch-stripe-state.ts";
import { offerTermFor } from "./offer-term.ts";

/** Audit source: `stripe` for webhook-triggered syncs, else the sync request's reason. */
export type SyncTrigger = "stripe" | "api" | "order" | "webhook" | "operator";

export type SyncContext = {
  trigger: SyncTrigger;
  /** The message (or Stripe event) id that caused the sync. */
  causeId: string;
  correlationId?: string | undefined;
  orderId?: string | undefined;
  /**
   * Invoice ids named by the Stripe events this sync answers, when they may spare the invoice
   * list (decision 023); undefined: list the recent invoices.
   */
  namedInvoices?: readonly string[] | undefined;
};

export type SyncResult =
  | { kind: "applied"; subscriptionId: string; events: string[]; read: InvoiceRead }
  | { kind: "not_linked"; subscriptionId: string }
  | { kind: "not_found"; subscriptionId: string };

type Row = LockedSubscription;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const date = (s: string | null) => (s === null ? null : new Date(s));

/**
 * The sync core, inside the caller's transaction (which also holds the inbox row): lock the
 * Limio subscription, read Stripe, build the patch, write only what changed, one audit event per
 * kind of real change. Never touches the customer (addresses, names, emails).
 */
export async function syncSubscriptionInTx(
  tx: Tx,
  deps: SyncDeps,
  subscriptionId: string,
  ctx: SyncContext,
): Promise<SyncResult> {
  // Concurrent syncs of one subscription serialise on the row lock; the Stripe read happens
  // inside it, so whichever commits last wrote the newest Stripe state.
  const row = await lockSubscriptionForSync(tx, subscriptionId);
  if (!row) return { kind: "not_found", subscriptionId };
  if (!row.stripeSubscriptionId) return { kind: "not_linked", subscriptionId };

  const state = await fetchStripeState(
    deps.stripe,
    row.stripeSubscriptionId,
    deps.metrics,
    invoicePlanFor(row, ctx.namedInvoices),
  );
  const now = deps.now?.() ?? new Date();
  const billed = billedOffer(state.subscription).offerId;
  const catalogOffer = billed === undefined ? null : await findOffer(tx, billed);
  const offerTerm = offerTermFor(state.subscription, catalogOffer);
  const patch = buildSubscriptionPatch({
    subscription: state.subscription,
    invoices: state.invoices,
    upcomingInvoice: state.upcomingInvoice,
    defaultPaymentMethod: state.defaultPaymentMethod,
    schedule: state.schedule,
    ...(offerTerm ? { offerTerm } : {}),
    now,
  });
  if (patch.warnings.length > 0) {
    deps.logger.warn({ subscriptionId, warnings: patch.warnings }, "odd Stripe data (not applied)");
  }

  // Each change's audit Event and its change event (outbox row) in this transaction (017).
  const audit = (type: string, changes: Record<string, unknown>) =>
    recordSubscriptionChange(tx, {
      subscriptionId,
      orderId: ctx.orderId ?? null,
      type,
      source: ctx.trigger,
      causeId: ctx.causeId,
      correlationId: ctx.correlationId ?? null,
      changes,
    });

  const events: string[] = [];
  // offerId is a foreign key: only an offer the catalog has is stored, else the stored one stays.
  const offer = catalogOffer ?? undefined;
  const offerId = offer?.id;
  if (patch.offerId !== undefined && offerId === undefined) {
    deps.logger.warn(
      { subscriptionId, offerId: patch.offerId },
      "Stripe bills an offer missing from the catalog",
    );
  }
  const columnGroups = columnChanges(row, patch, offer);
  const data: Record<string, unknown> = {}; // SyncedSubscriptionColumns, built by column name
  for (const [type, changes] of Object.entries(columnGroups)) {
    if (Object.keys(changes).length === 0) continue;
    for (const [field, { to }] of Object.entries(changes)) {
      data[field] = COLUMN_DATES.has(field) ? date(to as string | null) : to;
    }
    await audit(type, changes);
    events.push(type);
  }

  const scheduleChanges = await reconcileStoredSchedules(
    tx,
    row,
    patch.schedules,
    new Set(state.invoices.flatMap((i) => (i.id ? [i.id] : []))),
    now,
  );
  if (Object.keys(scheduleChanges).length > 0) {
    await audit("subscription.payment_schedules_changed", scheduleChanges);
    events.push("subscription.payment_schedules_changed");
  }

  const pmChange = await applyPaymentMethod(tx, row, patch.paymentMethod);
  if (pmChange) {
    await audit("subscription.payment_method_changed", { paymentMethod: pmChange });
    events.push("subscription.payment_method_changed");
  }

  if (events.length > 0 && ctx.trigger === "stripe") data.source = "stripe";
  await updateSyncedSubscription(tx, subscriptionId, {
    ...(data as SyncedSubscriptionColumns),
    lastSyncedAt: now,
    stripeRaw: state.raw as SyncedSubscriptionColumns["stripeRaw"],
  });
  return { kind: "applied", subscriptionId, events, read: state.read };
}

const COLUMN_DATES = new Set(["startDate", "termStart", "termEnd", "endedAt"]);

/** Column changes grouped by audit event type; dates compared as instants. */
function columnChanges(
  row: Row,
  patch: LimioSubscriptionPatch,
  offer: { id: string; version: string | null } | undefined,
): Record<string, FieldChanges> {
  const groups: Record<string, [string, unknown, unknown][]> = {
    "subscription.status_changed": [
      ["status", row.status, patch.status],
      ["stripeStatus", row.stripeStatus, patch.stripeStatus],
      ["cancelAtTermEnd", row.cancelAtTermEnd, patch.cancelAtTermEnd],
      ["endedAt", iso(row.endedAt), patch.endedAt],
    ],
    "subscription.term_changed": [
      ["startDate", iso(row.startDate), patch.startDate],
      ["termStart", iso(row.termStart), patch.termStartDate],
      ["termEnd", iso(row.termEnd), patch.termEndDate],
    ],
    // The offer follows what Stripe bills: an upgrade at once, a downgrade when its phase starts.
    // A switch to another offer buys that offer's current version (decision 022).
    "subscription.offer_changed":
      offer === undefined || offer.id === row.offerId
        ? []
        : [
            ["offerId", row.offerId, offer.id],
            ["offerVersion", row.offerVersion, offer.version],
          ],
    "subscription.stripe_link_changed": [
      ["stripeCustomerId", row.stripeCustomerId, patch.stripeCustomerId],
      ["stripeSubscriptionId", row.stripeSubscriptionId, patch.stripeSubscriptionId],
      ["stripeScheduleId", row.stripeScheduleId, patch.stripeScheduleId],
    ],
  };
  const out: Record<string, FieldChanges> = {};
  for (const [type, fields] of Object.entries(groups)) {
    const changes: FieldChanges = {};
    for (const [field, from, to] of fields) if (from !== to) changes[field] = { from, to };
    out[type] = changes;
  }
  return out;
}

type StoredSchedule = Row["paymentSchedules"][number];

function toDomain(s: StoredSchedule, wanted: PaymentScheduleFromStripe | undefined): PaymentSchedule {
  // Fields the store does not keep are taken from Stripe's version, so only stored fields compare.
  return {
    key: s.stripeKey,
    id: s.id,
    stripeInvoiceId: s.stripeInvoiceId,
    status: s.status as PaymentSchedule["status"],
    date: (s.dueDate ?? s.createdAt).toISOString(),
    amount: s.amount,
    currency: s.currency,
    periodStart: iso(s.periodStart),
    periodEnd: iso(s.periodEnd),
    amountDecimal: wanted?.amountDecimal ?? "",
    amountWithoutTax: wanted?.amountWithoutTax ?? null,
    taxAmount: wanted?.taxAmount ?? null,
    description: wanted?.description ?? null,
  };
}

const scheduleSummary = (s: { status: string; amount: number; currency: string; date: string }) => ({
  status: s.status,
  amount: s.amount,
  currency: s.currency,
  dueDate: s.date,
});

function scheduleColumns(s: PaymentScheduleFromStripe) {
  return {
    stripeInvoiceId: s.stripeInvoiceId,
    status: s.status,
    amount: s.amount,
    currency: s.currency,
    dueDate: new Date(s.date),
    periodStart: date(s.periodStart),
    periodEnd: date(s.periodEnd),
    paidAt: s.status === "paid" ? new Date(s.date) : null,
  };
}

/**
 * Payment schedules: stored ones Stripe no longer has are cancelled when future (or only a
 * prediction), paid and upcoming ones are (re)created from Stripe's invoices and preview, keyed so
 * a re-sync updates instead of duplicating. Returns `{ <key>: { from, to } }` for real changes.
 *
 * Only the invoices this sync read can change or cancel their schedules: an invoice the read
 * did not include (the latest-invoice read, or one older than the recent list) stands as stored.
 * Its absence proves nothing, and "past" is judged on this machine's clock while the invoice's
 * date is Stripe's (a test clock runs ahead of it): a paid invoice dated after `now` and not read
 * was cancelled here before (decision 023, "the lost paid invoice").
 */
async function reconcileStoredSchedules(
  tx: Tx,
  row: Row,
  fromStripe: PaymentScheduleFromStripe[],
  invoicesRead: ReadonlySet<string>,
  now: Date,
): Promise<Record<string, { from: unknown; to: unknown }>> {
  const wantedByKey = new Map(fromStripe.map((s) => [s.key, s]));
  const stored = row.paymentSchedules
    .filter((s) => s.stripeInvoiceId === null || invoicesRead.has(s.stripeInvoiceId))
    .map((s) => toDomain(s, wantedByKey.get(s.stripeKey)));
  const r = reconcileSchedules(stored, fromStripe, now);
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const c of r.create) {
    await createPaymentSchedule(tx, {
      id: generateLimioId("schedule"),
      subscriptionId: row.id,
      stripeKey: c.key,
      ...scheduleColumns(c),
    });
    changes[c.key] = { from: null, to: scheduleSummary(c) };
  }
  for (const u of r.update) {
    const next = wantedByKey.get(u.stored.key);
    if (!next || !u.stored.id) continue;
    await updatePaymentSchedule(tx, u.stored.id, scheduleColumns(next));
    changes[u.stored.key] = { from: scheduleSummary(u.stored), to: scheduleSummary(next) };
  }
  for (const c of r.cancel) {
    if (!c.id) continue;
    await updatePaymentSchedule(tx, c.id, { status: "cancelled" });
    changes[c.key] = { from: scheduleSummary(c), to: { ...scheduleSummary(c), status: "cancelled" } };
  }
  return changes;
}

type StoredMethod = Row["paymentMethod"];

const methodSummary = (m: NonNullable<StoredMethod>): PaymentMethodSummary => ({
  stripePaymentMethodId: m.stripePaymentMethodId,
  type: m.type,
  brand: m.brand,
  last4: m.last4,
  expMonth: m.expMonth,
  expYear: m.expYear,
});

const sameMethod = (a: PaymentMethodSummary | null, b: PaymentMethodSummary | null) =>
  JSON.stringify(a) === JSON.stringify(b);

/** Brand, last four and expiry of the default method; undefined = not fetched, leave it. */
async function applyPaymentMethod(
  tx: Tx,
  row: Row,
  next: PaymentMethodSummary | null | undefined,
): Promise<{ from: PaymentMethodSummary | null; to: PaymentMethodSummary | null } | null> {
  if (next === undefined) return null;
  const from = row.paymentMethod ? methodSummary(row.paymentMethod) : null;
  if (sameMethod(from, next)) return null;
  if (next === null) {
    await deletePaymentMethod(tx, row.id);
  } else {
    await setPaymentMethod(tx, row.id, next);
  }
  return { from, to: next };
}
