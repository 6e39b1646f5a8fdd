/**
 * Slack's rate limits on the methods that write messages (reference §4, slack-platform.md):
 * - `chat.postMessage` is "special": about one message per second per channel, short bursts
 *   tolerated. A token bucket per channel: `burst` calls at once, refilled at `perSecond`.
 * - `chat.update` is Tier 3: 50+ calls a minute per app per workspace, occasional bursts. A token
 *   bucket per workspace: `updatesPerMinute` at once, refilled at `updatesPerMinute` a minute.
 * Over a limit the caller answers 429 with `Retry-After` in whole seconds.
 */
export interface RateLimitOptions {
  /** Sustained chat.postMessage calls per second per channel. Default 1. */
  perSecond?: number;
  /** Calls allowed at once before limiting. Default 3. */
  burst?: number;
  /** Methods limited per channel. Default `['chat.postMessage']`. */
  methods?: string[];
  /** chat.update calls a minute for the workspace (Tier 3); 0 = not limited. Default 50. */
  updatesPerMinute?: number;
}

export interface ChannelRateLimiter {
  /** Undefined when the call may go ahead (and uses a token); else the seconds to wait. */
  check(method: string, channel: string): number | undefined;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Takes a token from `bucket` (refilled at `perSecond` up to `burst`), or answers the seconds to wait. */
function take(bucket: Bucket, t: number, perSecond: number, burst: number): number | undefined {
  bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
  bucket.at = t;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return undefined;
  }
  return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
}

export function createChannelRateLimiter(options: RateLimitOptions, now: () => number): ChannelRateLimiter {
  const perSecond = options.perSecond ?? 1;
  const burst = options.burst ?? 3;
  const methods = new Set(options.methods ?? ['chat.postMessage']);
  const perMinute = options.updatesPerMinute ?? 50;
  const buckets = new Map<string, Bucket>();
  const bucket = (key: string, full: number, t: number) => {
    const b = buckets.get(key) ?? { tokens: full, at: t };
    buckets.set(key, b);
    return b;
  };
  return {
    check(method, channel) {
      const t = now();
      if (method === 'chat.update' && perMinute > 0) {
        // Per workspace, not per channel: every edit the app makes counts.
        const wait = take(bucket('chat.update', perMinute, t), t, perMinute / 60, perMinute);
        if (wait !== undefined) return wait;
      }
      if (!methods.has(method)) return undefined;
      return take(bucket(`${method} ${channel}`, burst, t), t, perSecond, burst);
    },
  };
}
