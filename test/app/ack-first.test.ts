import { describe, expect, it } from 'vitest';
import { AckFirst } from '../../src/app/inbound/ack-first.ts';
import { until } from '../../testkit/until.ts';

describe('AckFirst: work after ack() waits for the acks of requests still in', () => {
  it('starts a follow-up at once when no request awaits its ack', async () => {
    const gate = new AckFirst();
    let started = false;
    void gate.turn().then(() => {
      started = true;
    });
    await until(() => started, 'the follow-up to start', 10_000);
  });

  it('while a request awaits its ack, starts one follow-up per turn of the event loop, in order', async () => {
    const gate = new AckFirst();
    const answered = gate.requestArrived();
    const order: number[] = [];
    for (const i of [1, 2, 3]) void gate.turn().then(() => order.push(i));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // One released per turn, not all at once (setImmediate callbacks queued in a turn run in the next).
    expect(order.length).toBeLessThan(3);
    expect(gate.pendingAcks).toBe(1);
    await until(() => order.length === 3, 'every follow-up to start, never starved', 10_000);
    expect(order).toEqual([1, 2, 3]);
    answered();
    answered(); // a second call (close after finish) counts once
    expect(gate.pendingAcks).toBe(0);
  });

  it('starts every queued follow-up at once when the last request is answered', async () => {
    const gate = new AckFirst();
    const answered = gate.requestArrived();
    const order: number[] = [];
    for (const i of [1, 2, 3, 4]) void gate.turn().then(() => order.push(i));
    answered();
    await until(() => order.length === 4, 'all follow-ups to start', 10_000);
    expect(order).toEqual([1, 2, 3, 4]);
  });
});
