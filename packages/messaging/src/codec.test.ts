import { envelopeHeaders } from "@bridge/domain";
import { describe, expect, it } from "vitest";
import { envelope } from "../test/support.ts";
import { decodeEnvelope, decodeHeaders, encodeEnvelope } from "./codec.ts";
import {
  classifyError,
  FatalError,
  InvalidEnvelopeError,
  PermanentError,
  PoisonMessageError,
  RetryableError,
} from "./errors.ts";

describe("envelope codec", () => {
  it("round-trips and mirrors envelope fields into headers that win over caller headers", () => {
    const e = envelope({ a: 1 });
    const { value, headers } = encodeEnvelope(e, {
      [envelopeHeaders.messageId]: "spoofed",
      traceparent: "t",
    });
    expect(decodeEnvelope(Buffer.from(value))).toEqual(e);
    expect(headers).toEqual({
      [envelopeHeaders.messageId]: e.id,
      [envelopeHeaders.type]: e.type,
      [envelopeHeaders.correlationId]: e.correlationId,
      traceparent: "t",
    });
  });
  it("rejects invalid envelopes on both ends", () => {
    expect(() => encodeEnvelope({ ...envelope({}), version: 0 })).toThrow(InvalidEnvelopeError);
    expect(() => decodeEnvelope(null)).toThrow(PoisonMessageError);
    expect(() => decodeEnvelope(Buffer.from("{"))).toThrow(/not JSON/);
    expect(() => decodeEnvelope(Buffer.from('{"id":"x"}'))).toThrow(/not a valid envelope/);
  });
  it("decodes header buffers and arrays", () => {
    expect(
      decodeHeaders({ a: Buffer.from("1"), b: [Buffer.from("2"), Buffer.from("3")], c: undefined }),
    ).toEqual({
      a: "1",
      b: "2",
    });
  });
});

describe("classifyError", () => {
  it("maps the taxonomy, lets apps classify their own errors, and treats the unknown as retryable", () => {
    expect(classifyError(new RetryableError("x"))).toBe("retryable");
    expect(classifyError(new PermanentError("x"))).toBe("permanent");
    expect(classifyError(new InvalidEnvelopeError("x"))).toBe("permanent");
    expect(classifyError(new PoisonMessageError("x"))).toBe("poison");
    expect(classifyError(new FatalError("x"))).toBe("fatal");
    expect(classifyError(new TypeError("x"))).toBe("retryable");
    expect(classifyError(new TypeError("x"), (e) => (e instanceof TypeError ? "permanent" : undefined))).toBe(
      "permanent",
    );
  });
});
