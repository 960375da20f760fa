-- AlterTable: an order short of grants claims only the slots it lacks, by taker, instead of holding
-- every slot from background work until its own frees (decision 016).
ALTER TABLE "StripeBudget" DROP COLUMN "priorityWaitingUntil",
ADD COLUMN     "orderClaims" JSONB NOT NULL DEFAULT '{}';
