/**
 * The app's budget for `chat.update`, which Slack limits per workspace (Tier 3: 50+ a minute, short
 * bursts) and not per channel. A token bucket kept under Slack's: `take` waits for a token (edits a
 * person is waiting for: a burst's message, a story, a resolved card); `tryTake` takes one only when
 * more than `reserve` are left and never waits (background refreshes of machine cards).
 */
export class UpdateBudget {
  private tokens: number;
  private at = Date.now();
  private readonly perMinute: number;
  private readonly burst: number;

  constructor(perMinute = 40, burst = 40) {
    this.perMinute = perMinute;
    this.burst = burst;
    this.tokens = burst;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 60_000) * this.perMinute);
    this.at = now;
  }

  async take(): Promise<void> {
    if (this.perMinute <= 0) return;
    this.refill();
    if (this.tokens < 1) {
      await new Promise((r) => setTimeout(r, ((1 - this.tokens) / this.perMinute) * 60_000 + 20));
      this.refill();
    }
    this.tokens -= 1;
  }

  tryTake(reserve: number): boolean {
    if (this.perMinute <= 0) return true;
    this.refill();
    if (this.tokens < reserve + 1) return false;
    this.tokens -= 1;
    return true;
  }
}
