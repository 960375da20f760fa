/**
 * Group commit for reads (the read-side twin of batching-publisher.ts): while one query is in
 * flight, the keys asked for meanwhile queue up and go out together in the next query. A lone
 * key is read at once, so latency at low load is one round trip; under load the number of round
 * trips per request drops with the queue length. No timer, no cache.
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
  let inFlight = false;

  async function flush() {
    inFlight = true;
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
    inFlight = false;
  }

  return (key) =>
    new Promise<V>((resolve, reject) => {
      waiting.push({ key, resolve, reject });
      if (!inFlight) void flush();
    });
}
