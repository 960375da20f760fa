import type { OffsetReader } from "@bridge/messaging";
import { describe, expect, it } from "vitest";
import { createCoalescer, invoiceNamedBy } from "./coalescer.ts";
import { invoicePlanFor, latestInvoiceSuffices } from "./fetch-stripe-state.ts";

/** An offset reader whose partition 0 grows as `marks` says, one value per read (the last one stays); partition 1 stays at 100. */
function offsetsReading(marks: bigint[]): OffsetReader & { reads: number } {
  const reader = {
    reads: 0,
    highWatermark: async () => undefined,
    async highWatermarks() {
      return new Map([
        [0, marks[Math.min(reader.reads++, marks.length - 1)]!],
        [1, 100n],
      ]);
    },
    partitionSizes: async () => [],
    groupOffsets: async () => [],
    reachable: async () => true,
    close: async () => {},
  };
  return reader;
}

/** A coalescer with a 500 ms settle time whose clock reads 10,000 and whose waits are recorded, not slept. */
function settling(offsets: OffsetReader) {
  const waits: number[] = [];
  const c = createCoalescer(offsets, {
    settleMs: 500,
    now: () => 10_000,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  return { c, waits };
}

describe("what a refetch reflects", () => {
  it("a message below its partition's watermark is reflected when the refetch listed, names no invoice, or names the invoice read", () => {
    const c = createCoalescer(offsetsReading([10n]));
    const marks = (p0: bigint, p1: bigint) =>
      new Map([
        [0, p0],
        [1, p1],
      ]);
    c.remember("t", "sub-1", marks(10n, 5n), { latestInvoice: "in_new", listed: false });
    expect(c.isReflected("t", 0, "sub-1", "9", undefined)).toBe(true);
    expect(c.isReflected("t", 0, "sub-1", "9", "in_new")).toBe(true);
    expect(c.isReflected("t", 0, "sub-1", "9", "in_older")).toBe(false);
    expect(c.isReflected("t", 0, "sub-1", "10", undefined)).toBe(false);
    // The customer-keyed events of the same renewal, on another partition.
    expect(c.isReflected("t", 1, "sub-1", "4", "in_new")).toBe(true);
    expect(c.isReflected("t", 1, "sub-1", "5", "in_new")).toBe(false);
    expect(c.isReflected("t", 0, "sub-2", "9", undefined)).toBe(false);
    // A snapshot that does not reach as far on every partition does not replace the memory.
    c.remember("t", "sub-1", marks(12n, 4n), { latestInvoice: "in_new", listed: true });
    expect(c.isReflected("t", 0, "sub-1", "11", undefined)).toBe(false);
    c.remember("t", "sub-1", marks(12n, 5n), { latestInvoice: "in_new", listed: true });
    expect(c.isReflected("t", 0, "sub-1", "11", "in_older")).toBe(true);
  });

  it("a message appended less than the settle time ago waits out the rest of it, then reads the watermarks", async () => {
    const offsets = offsetsReading([6n, 9n]);
    const { c, waits } = settling(offsets);
    // Appended 200 ms ago: waits the 300 ms left, and only then reads.
    expect((await c.snapshot("t", 9_800))?.get(0)).toBe(6n);
    // Appended "later" than this clock (a producer's clock ahead): never more than the settle time.
    await c.snapshot("t", 60_000);
    expect(waits).toEqual([300, 500]);
    expect(offsets.reads).toBe(2);
  });

  it("works of one subscription run one after the other, in the order queued; other subscriptions' do not wait", async () => {
    const c = createCoalescer(offsetsReading([10n]));
    const log: string[] = [];
    let release = () => {};
    const first = c.serialise("t", ["sub-1"], async () => {
      log.push("first started");
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      log.push("first done");
    });
    const second = c.serialise("t", ["sub-1", "sub-2"], async () => log.push("second"));
    await c.serialise("t", ["sub-3"], async () => log.push("other"));
    // A failed work does not hold the next one back.
    const failing = c.serialise("t", ["sub-1"], async () => {
      throw new Error("refetch failed");
    });
    const third = c.serialise("t", ["sub-1"], async () => log.push("third"));
    expect(log).toEqual(["first started", "other"]);
    release();
    await first;
    await second;
    await expect(failing).rejects.toThrow("refetch failed");
    await third;
    expect(log).toEqual(["first started", "other", "first done", "second", "third"]);
  });

  it("a message older than the settle time does not wait (a consumer behind never waits)", async () => {
    const offsets = offsetsReading([20n, 30n]);
    const { c, waits } = settling(offsets);
    expect((await c.snapshot("t", 9_500))?.get(0)).toBe(20n);
    expect(waits).toEqual([]);
    expect(offsets.reads).toBe(1);
  });
});

describe("the invoice list may be skipped", () => {
  const row = (schedules: { status: string; stripeInvoiceId: string | null }[], synced = true) => ({
    lastSyncedAt: synced ? new Date() : null,
    paymentSchedules: schedules,
  });
  const paid = { status: "paid", stripeInvoiceId: "in_old" };

  it("only for a synced subscription whose events name the latest invoice and whose other invoices are final", () => {
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid]), ["in_new"]), "in_new")).toBe(true);
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid]), []), "in_new")).toBe(true);
    // No plan (order outcome, Sync API, operator, coalescing off): list.
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid]), undefined), "in_new")).toBe(false);
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid], false), []), "in_new")).toBe(false);
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid]), ["in_old"]), "in_new")).toBe(false);
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid]), []), null)).toBe(false);
    const open = { status: "failed", stripeInvoiceId: "in_open" };
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid, open]), []), "in_new")).toBe(false);
    expect(latestInvoiceSuffices(invoicePlanFor(row([paid, open]), []), "in_open")).toBe(true);
  });

  it("an event names the invoice it is about, or the invoice of its payment", () => {
    expect(invoiceNamedBy({ object: "invoice", id: "in_1" })).toBe("in_1");
    expect(invoiceNamedBy({ object: "charge", id: "ch_1", invoice: "in_2" })).toBe("in_2");
    expect(invoiceNamedBy({ object: "invoice_payment", id: "inpay_1", invoice: { id: "in_3" } })).toBe(
      "in_3",
    );
    expect(invoiceNamedBy({ object: "subscription", id: "sub_1", latest_invoice: "in_4" })).toBeUndefined();
  });
});
