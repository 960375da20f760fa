import { createHmac } from "node:crypto";
import type { Logger } from "@bridge/observability";
import type { Stored } from "../state.ts";
import type { JsonObject } from "../types.ts";

/** A webhook endpoint as stored (with its signing secret). */
type Endpoint = Stored<"webhook_endpoint">;
/** What a delivery needs of its endpoint: where to send and the secret to sign with. */
type DeliveryTarget = Pick<Endpoint, "id" | "url" | "_secret">;

/** Stripe's signature header: `t=<unix>,v1=<hex HMAC-SHA256 of "t.payload" keyed by the endpoint secret>`. */
export function signPayload(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${signature}`;
}

export function endpointWants(endpoint: Endpoint, eventType: string): boolean {
  if (endpoint.status !== "enabled") return false;
  const enabled: string[] = endpoint.enabled_events ?? [];
  return enabled.includes("*") || enabled.includes(eventType);
}

export type DispatcherOptions = {
  maxAttempts: number;
  backoffMs: number;
  logger: Logger;
  /** Called once per endpoint when a delivery got a 2xx (Stripe decrements `pending_webhooks`). */
  onDelivered?: (eventId: string) => void;
  /** First attempts in flight at once per endpoint (default `DELIVERY_CONCURRENCY`). */
  concurrency?: number;
};

/**
 * Stripe delivers an endpoint's events concurrently and "doesn't guarantee the delivery of events
 * in the order that they're generated" (https://docs.stripe.com/webhooks#event-ordering). It
 * publishes no figure for how many at once; 16 keeps a renewal storm's webhooks flowing at the
 * rate the events are created here without flooding a local receiver.
 */
const DELIVERY_CONCURRENCY = 16;

export type DeliveryRecord = {
  eventId: string;
  endpointId: string;
  attempts: number;
  lastStatus: number | null;
  delivered: boolean;
  /** Epoch ms: when the event was queued for this endpoint, and when a 2xx answered it. */
  enqueuedAt: number;
  deliveredAt: number | null;
};

type QueuedDelivery = { endpoint: DeliveryTarget; payload: string; record: DeliveryRecord; done: () => void };

/**
 * Asynchronous, at-least-once webhook delivery. First attempts start in event order per endpoint,
 * up to `concurrency` in flight, so they may arrive out of order, as Stripe's do; a failed attempt
 * is retried with exponential backoff (backoffMs × 2^n) up to maxAttempts, outside that bound.
 * `flush()` resolves once nothing is pending.
 */
export class WebhookDispatcher {
  private readonly pending = new Set<Promise<void>>();
  /** Per endpoint: first attempts waiting for a slot, and how many are in flight. */
  private readonly queues = new Map<string, { waiting: QueuedDelivery[]; inFlight: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly deliveries: DeliveryRecord[] = [];
  private stopped = false;
  private readonly options: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.options = options;
  }

  setBackoff(backoffMs: number, maxAttempts?: number): void {
    this.options.backoffMs = backoffMs;
    if (maxAttempts !== undefined) this.options.maxAttempts = maxAttempts;
  }

  /** `event` is the payload as rendered for this endpoint. */
  enqueue(endpoint: DeliveryTarget, event: JsonObject): void {
    const record: DeliveryRecord = {
      eventId: String(event.id),
      endpointId: endpoint.id,
      attempts: 0,
      lastStatus: null,
      delivered: false,
      enqueuedAt: Date.now(),
      deliveredAt: null,
    };
    this.deliveries.push(record);
    const payload = JSON.stringify(event, null, 2);
    const queue = this.queues.get(endpoint.id) ?? { waiting: [], inFlight: 0 };
    this.queues.set(endpoint.id, queue);
    this.track(new Promise<void>((done) => queue.waiting.push({ endpoint, payload, record, done })));
    this.startWaiting(queue);
  }

  /** Starts first attempts, oldest first, while the endpoint has a free slot. */
  private startWaiting(queue: { waiting: QueuedDelivery[]; inFlight: number }): void {
    const limit = Math.max(1, this.options.concurrency ?? DELIVERY_CONCURRENCY);
    while (queue.inFlight < limit && queue.waiting.length > 0) {
      const next = queue.waiting.shift()!;
      queue.inFlight++;
      void this.attempt(next.endpoint, next.payload, next.record).finally(() => {
        queue.inFlight--;
        next.done();
        this.startWaiting(queue);
      });
    }
  }

  private track(promise: Promise<void>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }

  private async attempt(endpoint: DeliveryTarget, payload: string, record: DeliveryRecord): Promise<void> {
    if (this.stopped) return;
    record.attempts++;
    let ok = false;
    try {
      const response = await fetch(endpoint.url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "stripe-signature": signPayload(payload, endpoint._secret),
        },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      });
      record.lastStatus = response.status;
      await response.arrayBuffer().catch(() => undefined);
      ok = response.status >= 200 && response.status < 300;
    } catch (error) {
      record.lastStatus = null;
      this.options.logger.debug({ err: error, endpoint: endpoint.id }, "webhook delivery failed");
    }
    if (ok) {
      record.delivered = true;
      record.deliveredAt = Date.now();
      this.options.onDelivered?.(record.eventId);
      return;
    }
    if (record.attempts >= this.options.maxAttempts || this.stopped) {
      this.options.logger.warn({ endpoint: endpoint.id, event: record.eventId }, "webhook delivery gave up");
      return;
    }
    const delay = this.options.backoffMs * 2 ** (record.attempts - 1);
    const retry = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.attempt(endpoint, payload, record).then(resolve, resolve);
      }, delay);
      this.timers.add(timer);
    });
    this.track(retry);
  }

  /** Resolves when every queued delivery (including retries) has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  clear(): void {
    this.deliveries.length = 0;
  }
}
