// kafkajs 2.2.4 (unmaintained) reschedules its request queue check with
// `setTimeout(fn, throttledUntil - Date.now())` even when nothing is throttled (throttledUntil is
// -1), so the delay is about minus the epoch. Node then uses 1 ms and, since Node 24, prints a
// TimeoutNegativeWarning once per process. This replaces that one method with the same logic and a
// delay clamped at 0 (which Node also runs after 1 ms): behaviour unchanged, warning gone at its
// cause. Imported for its effect by kafka-client.ts and by every other process that loads kafkajs.
import { createRequire } from "node:module";

type RequestQueue = {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
};

// kafkajs' own poll interval for a queue that has pending requests and no throttle.
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const requestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as {
  prototype: RequestQueue & { scheduleCheckPendingRequests(): void };
};

requestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(
  this: RequestQueue,
) {
  if (this.throttleCheckTimeoutId) return;
  const throttledForMs = this.throttledUntil - Date.now();
  const delayMs =
    this.pending.length > 0 && throttledForMs <= 0
      ? CHECK_PENDING_REQUESTS_INTERVAL_MS
      : Math.max(throttledForMs, 0);
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delayMs);
};
