import { type Envelope, envelopeHeaders, envelopeSchema } from "@bridge/domain";
import type { IHeaders } from "kafkajs";
import { InvalidEnvelopeError, PoisonMessageError } from "./errors.ts";

/** Header values as plain strings (UTF-8), first value when a header repeats. */
export type MessageHeaders = Record<string, string>;

/** Validates an envelope and builds the Kafka value and the headers mirroring its fields. */
export function encodeEnvelope(
  envelope: Envelope,
  headers: MessageHeaders = {},
): { value: string; headers: MessageHeaders } {
  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    throw new InvalidEnvelopeError(`refusing to publish an invalid envelope: ${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  const e = parsed.data;
  const mirrored: MessageHeaders = {
    [envelopeHeaders.messageId]: e.id,
    [envelopeHeaders.type]: e.type,
    [envelopeHeaders.correlationId]: e.correlationId,
  };
  if (e.causationId) mirrored[envelopeHeaders.causationId] = e.causationId;
  // Envelope-derived headers win over caller-supplied ones so they can never disagree.
  return { value: JSON.stringify(e), headers: { ...headers, ...mirrored } };
}

/** Parses a Kafka value into a validated envelope; anything else is poison. */
export function decodeEnvelope(value: Buffer | null): Envelope {
  if (value === null) throw new PoisonMessageError("message has no value (tombstone)");
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
  } catch (error) {
    // JSON.parse quotes the input in its message: keep payload bytes out of headers and logs.
    throw new PoisonMessageError(`value is not JSON (${value.length} bytes)`, { cause: error });
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    throw new PoisonMessageError(`value is not a valid envelope: ${summarizeIssues(parsed.error.issues)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function summarizeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

export function decodeHeaders(headers: IHeaders | undefined): MessageHeaders {
  const out: MessageHeaders = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first === undefined) continue;
    out[name] = Buffer.isBuffer(first) ? first.toString("utf8") : String(first);
  }
  return out;
}
