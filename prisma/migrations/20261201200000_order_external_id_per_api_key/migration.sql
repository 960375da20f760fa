-- DropIndex
DROP INDEX "Order_source_externalId_key";

-- CreateIndex
CREATE INDEX "Order_source_externalId_idx" ON "Order"("source", "externalId");

