/**
 * Acks before follow-ups. Slack waits at most 3 s for each request's ack; what a command does after
 * `ack()` (the duplicate check, the answer, the audit row) can wait. The receiver counts requests
 * that are in but not yet answered. Once per turn of the event loop (after its I/O, so requests
 * already readable get their acks first) the queued follow-ups start: all of them when no request
 * awaits its ack, else only the oldest — never a burst of them between requests and their acks, and
 * never starved. Nothing is dropped; follow-ups start in the order they asked.
 */
export class AckFirst {
  private awaitingAck = 0;
  private readonly queue: (() => void)[] = [];
  private scheduled = false;

  /** A request is in; call the returned function once it is answered (any status; twice is once). */
  requestArrived(): () => void {
    this.awaitingAck++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.awaitingAck--;
      if (this.awaitingAck === 0 && this.queue.length > 0) this.schedule();
    };
  }

  /** Resolves when this follow-up may start. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.schedule();
    });
  }

  /** Requests still waiting for their ack (the guard's count). */
  get pendingAcks(): number {
    return this.awaitingAck;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const n = this.awaitingAck === 0 ? this.queue.length : 1;
      for (const start of this.queue.splice(0, n)) start();
      if (this.queue.length > 0) this.schedule();
    });
  }
}
