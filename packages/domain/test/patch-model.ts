// A model of a Limio subscription record with Stripe patches applied in memory: a test oracle for
// the patch rules (the store applies patches for real in packages/sync-core). Not product code.
import {
  applyScheduleReconciliation,
  type PaymentSchedule,
  reconcileSchedules,
} from "../src/rules/payment-schedules.ts";
import type {
  LimioSubscriptionPatch,
  LimioSubscriptionStatus,
  PaymentMethodSummary,
  PendingChange,
} from "../src/rules/subscription-patch.ts";

/** The Stripe-synced part of a Limio subscription record (the store may hold more; it is kept). */
export type LimioSubscriptionRecord = {
  status: LimioSubscriptionStatus;
  stripeStatus: string | null;
  startDate: string | null;
  termStartDate: string | null;
  termEndDate: string | null;
  cancelAtTermEnd: boolean;
  cancelAt: string | null;
  canceledAt: string | null;
  endedAt: string | null;
  trialEnd: string | null;
  stripeSubscriptionId: string | null;
  stripeCustomerId: string | null;
  stripeScheduleId: string | null;
  pendingChange: PendingChange | null;
  paymentMethod: PaymentMethodSummary | null;
  schedules: PaymentSchedule[];
  lastSyncedAt: string | null;
};

/**
 * The record after a sync. Idempotent (applying the same patch twice equals applying it once),
 * so a redelivered sync message is harmless. Fields outside the record type are left as they are.
 */
export function applyPatch<R extends LimioSubscriptionRecord>(record: R, patch: LimioSubscriptionPatch): R {
  const reconciliation = reconcileSchedules(record.schedules, patch.schedules, new Date(patch.syncedAt));
  return {
    ...record,
    status: patch.status,
    stripeStatus: patch.stripeStatus,
    startDate: patch.startDate,
    termStartDate: patch.termStartDate,
    termEndDate: patch.termEndDate,
    cancelAtTermEnd: patch.cancelAtTermEnd,
    cancelAt: patch.cancelAt,
    canceledAt: patch.canceledAt,
    endedAt: patch.endedAt,
    trialEnd: patch.trialEnd,
    stripeSubscriptionId: patch.stripeSubscriptionId,
    stripeCustomerId: patch.stripeCustomerId,
    stripeScheduleId: patch.stripeScheduleId,
    pendingChange: patch.pendingChange,
    paymentMethod: patch.paymentMethod === undefined ? record.paymentMethod : patch.paymentMethod,
    schedules: applyScheduleReconciliation(record.schedules, reconciliation),
    lastSyncedAt: patch.syncedAt,
  };
}

/** A blank record for a Limio subscription not yet synced. */
export const emptySubscriptionRecord = (
  status: LimioSubscriptionStatus = "pending",
): LimioSubscriptionRecord => ({
  status,
  stripeStatus: null,
  startDate: null,
  termStartDate: null,
  termEndDate: null,
  cancelAtTermEnd: false,
  cancelAt: null,
  canceledAt: null,
  endedAt: null,
  trialEnd: null,
  stripeSubscriptionId: null,
  stripeCustomerId: null,
  stripeScheduleId: null,
  pendingChange: null,
  paymentMethod: null,
  schedules: [],
  lastSyncedAt: null,
});
