/** Counts requests by `METHOD /route/:template` (and faults by kind), readable from tests and benchmarks. */
export interface RequestCounters {
  increment(key: string): void;
  /** Requests seen for one key, e.g. `GET /v1/apps/:app/machines`. */
  get(key: string): number;
  /** All counts, sorted by key. */
  snapshot(): Record<string, number>;
  total(): number;
  reset(): void;
}

export function createRequestCounters(): RequestCounters {
  const counts = new Map<string, number>();
  return {
    increment(key) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    get(key) {
      return counts.get(key) ?? 0;
    },
    snapshot() {
      return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
    },
    total() {
      let sum = 0;
      for (const value of counts.values()) sum += value;
      return sum;
    },
    reset() {
      counts.clear();
    },
  };
}
