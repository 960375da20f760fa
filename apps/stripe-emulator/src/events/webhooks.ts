import { createHmac } from "node:crypto";
import type { Logger } from "@bridge/observability";
import type { Stored } from "../state.ts";
import type { JsonObject } from "../types.ts";

/** A webhook endpoint as stored (with its signing secret). */
type Endpoint = Stored<"webhook_endpoint">;

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
};

export type DeliveryRecord = {
  eventId: string;
  endpointId: string;
  attempts: number;
  lastStatus: number | null;
  delivered: boolean;
};

/**
 * Asynchronous, at-least-once webhook delivery. First attempts go out in event order per
 * endpoint; a failed attempt is retried with exponential backoff (backoffMs × 2^n) up to
 * maxAttempts. `flush()` resolves once nothing is pending.
 */
export class WebhookDispatcher {
  private readonly pending = new Set<Promise<void>>();
  private readonly chains = new Map<string, Promise<void>>();
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
  enqueue(endpoint: Endpoint, event: JsonObject): void {
    const record: DeliveryRecord = {
      eventId: String(event.id),
      endpointId: endpoint.id,
      attempts: 0,
      lastStatus: null,
      delivered: false,
    };
    this.deliveries.push(record);
    const payload = JSON.stringify(event, null, 2);
    const previous = this.chains.get(endpoint.id) ?? Promise.resolve();
    const first = previous.then(() => this.attempt(endpoint, payload, record));
    this.chains.set(endpoint.id, first);
    this.track(first);
  }

  private track(promise: Promise<void>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }

  private async attempt(endpoint: Endpoint, payload: string, record: DeliveryRecord): Promise<void> {
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
