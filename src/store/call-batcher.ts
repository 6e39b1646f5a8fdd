/**
 * Calls that arrive together go to the database together. After a quiet spell a call goes at the end
 * of the current turn of the event loop (so the deliveries read in one turn share a batch); batches
 * then start at most every `minGapMs` (calls in between wait for the next), and while `maxInFlight`
 * batches are out, calls queue for the next one, at most `maxBatch` items each.
 * A batch that fails fails each of its calls with the same error; one whose answer does not match
 * its items in number fails them too. Nothing is dropped, nothing is retried.
 */
export class CallBatcher<I, O> {
  private readonly queue: { item: I; resolve: (o: O) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private readonly minGapMs: number;

  private readonly run: (items: I[]) => Promise<O[]>;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(
    run: (items: I[]) => Promise<O[]>,
    o: { maxBatch?: number; maxInFlight?: number; minGapMs?: number } = {},
  ) {
    this.run = run;
    this.minGapMs = o.minGapMs ?? 0;
    this.maxBatch = o.maxBatch ?? 100;
    this.maxInFlight = o.maxInFlight ?? 2;
  }

  call(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every call made so far is answered (shutdown waits for it: nothing queued is lost). */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.flush();
    };
    const wait = this.lastFlushAt + this.minGapMs - performance.now();
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  private flush(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.lastFlushAt = performance.now();
    this.inFlight++;
    let answer: Promise<O[]>;
    try {
      answer = this.run(batch.map((b) => b.item));
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer
      .then((out) => {
        if (out.length !== batch.length) {
          throw new Error(`a batch of ${batch.length} calls was answered with ${out.length} results`);
        }
        for (const [i, b] of batch.entries()) b.resolve(out[i]!);
      })
      .catch((err: unknown) => {
        for (const b of batch) b.reject(err);
      })
      .finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.schedule();
      });
  }
}
