import { type Envelope, type MessageType, type MessageVersion, parseMessageData } from "@bridge/domain";
import { PoisonMessageError } from "@bridge/messaging";

/** The envelope's data validated against its (type, version) schema; anything else is poison. */
export function dataOf<T extends MessageType>(envelope: Envelope, type: T) {
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
