/**
 * Acks before follow-ups. Slack waits at most 3 s for each request's ack; what a command does after
 * `ack()` (the duplicate check, the answer, the audit row) can wait. The receiver counts requests
 * that are in but not yet answered; a follow-up starts only once none is (so its CPU does not sit
 * between a request and its ack), or after `maxWaitMs` at the latest (so it never starves). Nothing
 * is dropped and order is kept: follow-ups start in the order they asked.
 */
export class AckFirst {
  private awaitingAck = 0;
  private readonly queue: { start: () => void; since: number }[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxWaitMs: number;

  constructor(o: { maxWaitMs?: number } = {}) {
    this.maxWaitMs = o.maxWaitMs ?? 250;
  }

  /** A request is in; call the returned function once it is answered (any status). */
  requestArrived(): () => void {
    this.awaitingAck++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.awaitingAck--;
      if (this.awaitingAck === 0) this.schedule();
    };
  }

  /** Resolves when this follow-up may start. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push({ start: resolve, since: Date.now() });
      this.schedule();
    });
  }

  /** Requests still waiting for their ack (the guard's count). */
  get pendingAcks(): number {
    return this.awaitingAck;
  }

  // After the I/O of this turn of the event loop: requests already readable get their acks first.
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.release();
    });
  }

  private release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      if (this.awaitingAck > 0 && now - first.since < this.maxWaitMs) break;
      this.queue.shift();
      first.start();
    }
    if (this.queue.length > 0) {
      const wait = Math.max(1, this.maxWaitMs - (now - this.queue[0]!.since));
      this.timer = setTimeout(() => this.release(), wait);
    }
  }
}
