import { type Envelope, type MessageType, type MessageVersion, parseMessageData } from "@bridge/domain";
import { PoisonMessageError } from "./errors.ts";

/**
 * The envelope's data validated against the domain's schema for its (type, version): the one way
 * every handler reads message data. Anything else is poison (DLQ at once, raw bytes kept).
 */
export function messageData<T extends MessageType>(envelope: Envelope, type: T) {
  const parsed = parseMessageData(type, envelope.version as MessageVersion<T>, envelope.data);
  if (!parsed.ok) {
    const summary = parsed.errors
      .slice(0, 5)
      .map((e) => `${e.path}: ${e.message}`)
      .join("; ");
    throw new PoisonMessageError(`${type} v${envelope.version}: ${parsed.code} (${summary})`);
  }
  return parsed.data;
}
