/**
 * Slack's special limit for chat.postMessage (reference §4): about one message per second per
 * channel, short bursts tolerated. A token bucket per (method, channel): `burst` calls at once,
 * refilled at `perSecond`. Over the limit the caller answers 429 with `Retry-After` in whole seconds.
 */
export interface RateLimitOptions {
  /** Sustained calls per second per channel. Default 1. */
  perSecond?: number;
  /** Calls allowed at once before limiting. Default 3. */
  burst?: number;
  /** Methods limited. Default `['chat.postMessage']`. */
  methods?: string[];
}

export interface ChannelRateLimiter {
  /** Undefined when the call may go ahead (and uses a token); else the seconds to wait. */
  check(method: string, channel: string): number | undefined;
}

export function createChannelRateLimiter(options: RateLimitOptions, now: () => number): ChannelRateLimiter {
  const perSecond = options.perSecond ?? 1;
  const burst = options.burst ?? 3;
  const methods = new Set(options.methods ?? ['chat.postMessage']);
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    check(method, channel) {
      if (!methods.has(method)) return undefined;
      const key = `${method} ${channel}`;
      const t = now();
      const bucket = buckets.get(key) ?? { tokens: burst, at: t };
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
      bucket.at = t;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
    },
  };
}
