-- AlterTable: the orders' own grants, so background work keeps the reserve only while orders are active (decision 016).
ALTER TABLE "StripeBudget" ADD COLUMN     "recentOrders" TIMESTAMPTZ(6)[];
