-- CreateTable
CREATE TABLE "StripeBudget" (
    "id" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "refilledAt" TIMESTAMPTZ(6) NOT NULL,
    "lastGranted" INTEGER NOT NULL DEFAULT 0,
    "priorityWaitingUntil" TIMESTAMPTZ(6),

    CONSTRAINT "StripeBudget_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StripeBudgetMember" (
    "budgetId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "lane" TEXT NOT NULL,
    "seenAt" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "StripeBudgetMember_pkey" PRIMARY KEY ("budgetId","memberId")
);

