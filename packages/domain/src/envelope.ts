import { z } from "zod";

/**
 * The one JSON envelope every Kafka value carries (DESIGN.md §3). Validated by zod on both
 * ends; `type` + `version` select the payload schema for `data`.
 */
export const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().min(1),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).optional(),
  data: z.unknown(),
});

export type Envelope<TData = unknown> = Omit<z.infer<typeof envelopeSchema>, "data"> & { data: TData };

/** Kafka header names that mirror envelope fields so tools can route without parsing values. */
export const envelopeHeaders = {
  messageId: "x-message-id",
  type: "x-message-type",
  correlationId: "x-correlation-id",
  causationId: "x-causation-id",
  traceparent: "traceparent",
} as const;
