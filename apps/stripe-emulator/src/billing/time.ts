/** Calendar arithmetic for billing periods (UTC), clamping month-ends like Stripe (Jan 31 → Feb 28). */
export type Interval = "day" | "week" | "month" | "year";

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** anchor + n intervals, keeping the anchor's day-of-month (clamped) and time of day. */
export function addIntervals(anchor: number, interval: Interval, n: number): number {
  if (interval === "day") return anchor + n * 86400;
  if (interval === "week") return anchor + n * 7 * 86400;
  const months = interval === "year" ? n * 12 : n;
  const d = new Date(anchor * 1000);
  const total = d.getUTCMonth() + months;
  const year = d.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
}

/** The first period boundary (anchor + k × count intervals) strictly after `after`. */
export function nextBoundary(anchor: number, after: number, interval: Interval, count: number): number {
  let k = 1;
  let boundary = addIntervals(anchor, interval, count);
  while (boundary <= after) {
    k++;
    boundary = addIntervals(anchor, interval, k * count);
  }
  return boundary;
}

export function formatDate(ts: number): string {
  const d = new Date(ts * 1000);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}
