-- AlterTable
ALTER TABLE "Subscription" ADD COLUMN     "offerVersion" TEXT;

-- CreateTable
CREATE TABLE "OfferVersion" (
    "offerId" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "raw" JSONB NOT NULL,
    "loadedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OfferVersion_pkey" PRIMARY KEY ("offerId","version")
);

-- AddForeignKey
ALTER TABLE "OfferVersion" ADD CONSTRAINT "OfferVersion_offerId_fkey" FOREIGN KEY ("offerId") REFERENCES "Offer"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Backfill: the versions loaded before versions were kept are each offer's current one.
INSERT INTO "OfferVersion" ("offerId", "version", "raw")
SELECT "id", "version", "raw" FROM "Offer" WHERE "version" IS NOT NULL;
