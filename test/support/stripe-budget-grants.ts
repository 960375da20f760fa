import type { StripeBudgetStore } from "@bridge/store";

/** The budget store, recording the database time of every token it grants into `grants`. */
export function recordingGrants(store: StripeBudgetStore, grants: number[]): StripeBudgetStore {
  return {
    ...store,
    async take(request) {
      const grant = await store.take(request);
      for (let i = 0; i < grant.granted; i += 1) grants.push(grant.grantedAt.getTime());
      return grant;
    },
  };
}

/** The most grants any window of `windowMs` holds (a window starts at each grant). */
export function busiestSecond(grants: number[], windowMs = 1000): number {
  const sorted = [...grants].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
