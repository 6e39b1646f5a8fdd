/** How `until` waits. A bare number is `ms`. */
export interface UntilOptions {
  /** How long to wait before failing (default 30 s: a bound for a stuck wait, not a timing assert). */
  ms?: number;
  /** The pause between two checks (default 50 ms). */
  everyMs?: number;
  /** A check that throws counts as "not yet" (the last error is named on timeout) instead of failing. */
  retryErrors?: boolean;
  /** More to say when the wait fails (a child process's output so far, say). */
  context?: () => string;
}

/**
 * Polls `check` until it returns a truthy value and returns that value; fails after the bound,
 * naming `what`. Tests and benchmarks wait on state this way, never on sleeps.
 */
export async function until<T>(
  check: () => Promise<T> | T,
  what: string,
  options: number | UntilOptions = {},
): Promise<Exclude<T, undefined | null | false | ''>> {
  const o = typeof options === 'number' ? { ms: options } : options;
  const end = Date.now() + (o.ms ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as never;
    } catch (err) {
      if (!o.retryErrors) throw err;
      lastError = err;
    }
    if (Date.now() > end) {
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      const context = o.context ? `\n${o.context()}` : '';
      throw new Error(`timed out waiting for ${what}${cause}${context}`);
    }
    await new Promise((r) => setTimeout(r, o.everyMs ?? 50));
  }
}
