-- CreateTable
CREATE TABLE "CustomerEmailClaim" (
    "account" TEXT NOT NULL,
    "emailHash" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "claimedAt" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "CustomerEmailClaim_pkey" PRIMARY KEY ("account","emailHash")
);
