import { describe, expect, it } from 'vitest';
import { CallBatcher } from '../../src/store/call-batcher.ts';

/** A batch function that records each batch it is given and answers each item doubled. */
function recorder() {
  const batches: number[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  return {
    batches,
    holdNext() {
      hold = true;
    },
    releaseHeld() {
      release?.();
    },
    run: async (items: number[]) => {
      batches.push(items);
      if (hold) {
        hold = false;
        await new Promise<void>((r) => {
          release = r;
        });
      }
      return items.map((x) => x * 2);
    },
  };
}

describe('CallBatcher', () => {
  it('calls made in one turn go in one batch, each gets its own answer, in order', async () => {
    const r = recorder();
    const b = new CallBatcher(r.run);
    expect(await Promise.all([b.call(1), b.call(2), b.call(3)])).toEqual([2, 4, 6]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('while batches are out, later calls wait and go together in the next one', async () => {
    const r = recorder();
    const b = new CallBatcher(r.run, { maxInFlight: 1 });
    r.holdNext();
    const first = b.call(1);
    await new Promise((res) => setImmediate(res));
    const later = [b.call(2), b.call(3), b.call(4)];
    await new Promise((res) => setTimeout(res, 5));
    expect(r.batches).toEqual([[1]]);
    r.releaseHeld();
    expect(await first).toBe(2);
    expect(await Promise.all(later)).toEqual([4, 6, 8]);
    expect(r.batches).toEqual([[1], [2, 3, 4]]);
  });

  it('a batch is at most maxBatch calls; none is dropped', async () => {
    const r = recorder();
    const b = new CallBatcher(r.run, { maxBatch: 2 });
    expect(await Promise.all([1, 2, 3, 4, 5].map((x) => b.call(x)))).toEqual([2, 4, 6, 8, 10]);
    expect(r.batches.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(r.batches.every((x) => x.length <= 2)).toBe(true);
  });

  it('under minGapMs, calls after a batch wait for the next gap and share it', async () => {
    const r = recorder();
    // Without the gap, 2 would go alone at the end of its turn; with it, 3 (a turn later) joins it.
    const b = new CallBatcher(r.run, { minGapMs: 500 });
    await b.call(1);
    const later = [b.call(2)];
    await new Promise((res) => setImmediate(res));
    await new Promise((res) => setImmediate(res));
    later.push(b.call(3));
    expect(await Promise.all(later)).toEqual([4, 6]);
    expect(r.batches).toEqual([[1], [2, 3]]);
  });

  it('a failed batch fails each of its calls with its error; the next batch is unaffected', async () => {
    let fail = true;
    const b = new CallBatcher(async (items: number[]) => {
      if (fail) {
        fail = false;
        throw new Error('database away');
      }
      return items;
    });
    const failed = await Promise.allSettled([b.call(1), b.call(2)]);
    expect(failed.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('database away');
    expect(await b.call(3)).toBe(3);
  });

  it('idle() resolves once every call made so far is answered', async () => {
    const r = recorder();
    const b = new CallBatcher(r.run, { minGapMs: 50 });
    const calls = [b.call(1), b.call(2)];
    await b.idle();
    const third = b.call(3);
    await b.idle();
    let settled = 0;
    for (const c of [...calls, third]) void c.then(() => settled++);
    await Promise.resolve();
    expect(settled).toBe(3);
    expect(r.batches.flat()).toEqual([1, 2, 3]);
  });

  it('an answer with the wrong number of results fails every call of the batch', async () => {
    const b = new CallBatcher(async (items: number[]) => items.slice(1));
    const out = await Promise.allSettled([b.call(1), b.call(2)]);
    expect(out.every((x) => x.status === 'rejected')).toBe(true);
    expect((out[0] as PromiseRejectedResult).reason.message).toMatch(/batch of 2 calls was answered with 1/);
  });
});
