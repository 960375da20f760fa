/**
 * Group commit for reads (the read-side twin of batching-publisher.ts): the keys asked in one
 * synchronous run (one request's lookups, started together) go out in one query, at the end of
 * that run (a microtask, no timer); while that query is in flight, the keys asked meanwhile queue
 * up and go out together in the next query. A lone request is read at once, in
 * one round trip; under load the number of round trips per request drops with the queue length.
 * No cache.
 *
 * A key never joins a query already in flight: every answer comes from a query that started
 * after the caller asked, so it sees everything committed before then, exactly what a query of
 * its own would see. A failed query fails each of its callers (the store being down is a 503).
 */
export function createGroupedRead<K, V>(
  read: (keys: K[]) => Promise<V[]>,
  options: { maxBatch?: number } = {},
): (key: K) => Promise<V> {
  const maxBatch = options.maxBatch ?? 256;
  const waiting: { key: K; resolve: (value: V) => void; reject: (error: unknown) => void }[] = [];
  /** A query in flight or about to start (scheduled at the end of the current run). */
  let busy = false;

  /** Reads what is waiting, group after group, until nothing is. */
  async function flush() {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, maxBatch);
      try {
        const values = await read(batch.map((w) => w.key));
        batch.forEach((w, i) => {
          w.resolve(values[i] as V);
        });
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    busy = false;
  }

  return (key) =>
    new Promise<V>((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (busy) return;
      busy = true;
      queueMicrotask(() => void flush());
    });
}
