-- CreateTable
CREATE TABLE "StripeBudget" (
    "id" TEXT NOT NULL,
    "recent" TIMESTAMPTZ(6)[],
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

