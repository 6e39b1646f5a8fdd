/**
 * Keeps each channel at about `perSecond` messages a second after a short burst (a token bucket
 * per channel): `pace` waits, never drops. Slack allows about one message a second per channel.
 */
export class ChannelPacer {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perSecond: number;
  private readonly burst: number;

  constructor(perSecond: number, burst: number) {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Before a post: waits until the channel's bucket has a token, and takes it. */
  async pace(channel: string): Promise<void> {
    const rate = this.perSecond;
    if (rate <= 0) return;
    const now = Date.now();
    const b = this.buckets.get(channel) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) {
      // A margin over the exact refill: requests reach Slack with jitter, and its bucket counts arrivals.
      const wait = ((1 - b.tokens) / rate) * 1000 * 1.1 + 20;
      await new Promise((r) => setTimeout(r, wait));
      b.tokens = 1;
      b.at = Date.now();
    }
    b.tokens -= 1;
    this.buckets.set(channel, b);
  }

  /**
   * Once Slack answered: the refill counts from now, not from when the post left. Slack's bucket
   * counts arrivals, and a post delayed on its way (a busy machine) must not let the next one
   * arrive closer to it than the rate allows.
   */
  paced(channel: string): void {
    const b = this.buckets.get(channel);
    if (b) b.at = Date.now();
  }
}
