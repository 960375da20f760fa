import { describe, expect, it } from "vitest";
import {
  generateLimioCustomerId,
  generateLimioEventId,
  generateLimioId,
  generateLimioOrderId,
  generateLimioReference,
  generateLimioScheduleId,
  generateLimioSubscriptionId,
  isStripeId,
  limioCustomerId,
  limioEventId,
  limioOrderId,
  limioReference,
  limioScheduleId,
  limioSubscriptionId,
  type RandomBytes,
  REFERENCE_ALPHABET,
  stripeEventId,
  stripeScheduleId,
  stripeSubscriptionId,
} from "./ids.ts";

/** Deterministic source: counts up from a seed. */
const counting =
  (seed = 0): RandomBytes =>
  (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (seed + i) % 256;
    return out;
  };

describe("Limio ids", () => {
  it("generates <prefix>-<32 hex> deterministically from the random source", () => {
    expect(generateLimioSubscriptionId(counting())).toBe("sub-000102030405060708090a0b0c0d0e0f");
    expect(generateLimioSubscriptionId(counting())).toBe(generateLimioSubscriptionId(counting()));
    expect(generateLimioOrderId(counting(16))).toBe("order-101112131415161718191a1b1c1d1e1f");
    expect(limioCustomerId.safeParse(generateLimioCustomerId()).success).toBe(true);
    expect(limioScheduleId.safeParse(generateLimioScheduleId()).success).toBe(true);
    expect(limioEventId.safeParse(generateLimioEventId()).success).toBe(true);
    expect(generateLimioSubscriptionId()).not.toBe(generateLimioSubscriptionId());
  });

  it("refuses a random source that returns the wrong length", () => {
    expect(() => generateLimioId("order", () => new Uint8Array(3))).toThrow(/3 bytes/);
  });

  it("validates formats strictly", () => {
    expect(limioSubscriptionId.safeParse("sub-5c3d83c60950014c306865f0ab8c499b").success).toBe(true);
    expect(limioSubscriptionId.safeParse("sub-5C3D83C60950014C306865F0AB8C499B").success).toBe(false);
    expect(limioSubscriptionId.safeParse("sub-abc123").success).toBe(false);
    expect(limioSubscriptionId.safeParse("order-5c3d83c60950014c306865f0ab8c499b").success).toBe(false);
    expect(limioOrderId.safeParse("order-5c3d83c60950014c306865f0ab8c499b").success).toBe(true);
    const r = limioSubscriptionId.safeParse("nope");
    expect(r.success ? "" : r.error.issues[0]?.message).toMatch(/sub-<32 hex>/);
  });
});

describe("references", () => {
  it("are 12 characters without ambiguous characters", () => {
    for (let i = 0; i < 200; i++) {
      const ref = generateLimioReference();
      expect(ref).toMatch(/^[2-9A-HJKMNP-Z]{12}$/);
      expect(limioReference.safeParse(ref).success).toBe(true);
    }
    expect(REFERENCE_ALPHABET).not.toMatch(/[01OIL]/);
  });

  it("are deterministic for a given source and skip biased bytes", () => {
    expect(generateLimioReference(counting())).toBe("23456789ABCD");
    // 255 is above the unbiased limit (248) and must be skipped, not mapped.
    let call = 0;
    const src: RandomBytes = (n) => (call++ === 0 ? new Uint8Array(n).fill(255) : counting()(n));
    expect(generateLimioReference(src)).toBe("23456789ABCD");
    expect(() => generateLimioReference((n) => new Uint8Array(n).fill(255))).toThrow(/out-of-range/);
  });

  it("accepts Limio's own references, which do use 0 and O", () => {
    expect(limioReference.safeParse("29CVVO5SJFR0").success).toBe(true);
    expect(limioReference.safeParse("8hk92pl401qw").success).toBe(false);
    expect(limioReference.safeParse("8HK92PL401Q").success).toBe(false);
  });
});

describe("Stripe ids", () => {
  it("recognises each prefix and does not confuse sub_ with sub_sched_", () => {
    expect(isStripeId("subscription", "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw")).toBe(true);
    expect(isStripeId("subscription", "sub_sched_1Pgc7AB7WZ01zgkWaeHcsbnC")).toBe(false);
    expect(isStripeId("subscriptionSchedule", "sub_sched_1Pgc7AB7WZ01zgkWaeHcsbnC")).toBe(true);
    expect(isStripeId("customer", "cus_QXg1o8vcGmoR32")).toBe(true);
    expect(isStripeId("price", "price_1PgafmB7WZ01zgkW6dKueIc5")).toBe(true);
    expect(isStripeId("product", "prod_QXg1hqf4jFNsqG")).toBe(true);
    expect(isStripeId("invoice", "in_1Pgc6tB7WZ01zgkWu9fdqL6I")).toBe(true);
    expect(isStripeId("paymentMethod", "pm_1Pgc75B7WZ01zgkWlHVgdEGJ")).toBe(true);
    // Stripe test mode accepts its test payment method ids directly: the shop may send them.
    expect(isStripeId("paymentMethod", "pm_card_visa")).toBe(true);
    expect(isStripeId("paymentMethod", "pm_card_chargeDeclined")).toBe(true);
    expect(isStripeId("paymentIntent", "pi_3MtwBwLkdIwHu7ix28a3tqPa")).toBe(true);
    expect(isStripeId("setupIntent", "seti_1Mm8s8LkdIwHu7ix0OXBfTRG")).toBe(true);
    expect(isStripeId("event", "evt_1NG8Du2eZvKYlo2CUI79vXWy")).toBe(true);
    expect(isStripeId("paymentIntent", "pi_123_secret_abc")).toBe(false);
    expect(isStripeId("customer", 42)).toBe(false);
    expect(stripeSubscriptionId.safeParse("cus_x").success).toBe(false);
    expect(stripeScheduleId.safeParse("sub_sched_abc").success).toBe(true);
    expect(stripeEventId.safeParse("evt_").success).toBe(false);
  });
});
