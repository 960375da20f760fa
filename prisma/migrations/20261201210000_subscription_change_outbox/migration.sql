-- CreateTable
CREATE TABLE "SubscriptionChange" (
    "id" TEXT NOT NULL,
    "subscriptionId" TEXT NOT NULL,
    "sequence" INTEGER NOT NULL,
    "position" BIGSERIAL NOT NULL,
    "eventId" TEXT NOT NULL,
    "envelope" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMP(3),

    CONSTRAINT "SubscriptionChange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SubscriptionChangeSequence" (
    "subscriptionId" TEXT NOT NULL,
    "lastSequence" INTEGER NOT NULL,

    CONSTRAINT "SubscriptionChangeSequence_pkey" PRIMARY KEY ("subscriptionId")
);

-- CreateIndex
CREATE UNIQUE INDEX "SubscriptionChange_position_key" ON "SubscriptionChange"("position");

-- CreateIndex
CREATE UNIQUE INDEX "SubscriptionChange_eventId_key" ON "SubscriptionChange"("eventId");

-- CreateIndex
CREATE INDEX "SubscriptionChange_publishedAt_position_idx" ON "SubscriptionChange"("publishedAt", "position");

-- CreateIndex
CREATE UNIQUE INDEX "SubscriptionChange_subscriptionId_sequence_key" ON "SubscriptionChange"("subscriptionId", "sequence");

