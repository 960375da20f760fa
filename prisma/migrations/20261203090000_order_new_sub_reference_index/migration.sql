-- The writer refuses a new order whose sub_reference another recorded new order already carries
-- (its subscription may not exist yet): served by this index, not a scan of every order's payload.
-- An expression index Prisma's schema cannot express: it lives here only (schema.prisma says so).
CREATE INDEX "Order_new_sub_reference_idx" ON "Order" (("payload"->>'sub_reference')) WHERE "type" = 'new';
