import { describe, expect, it } from 'vitest';
import { AckFirst } from '../../src/app/inbound/ack-first.ts';
import { until } from '../../testkit/until.ts';

/** Lets every pending immediate and microtask run (the gate releases on setImmediate). */
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('AckFirst: work after ack() waits for the acks of requests still in', () => {
  it('starts a follow-up at once when no request awaits its ack', async () => {
    const gate = new AckFirst({ maxWaitMs: 60_000 });
    let started = false;
    void gate.turn().then(() => {
      started = true;
    });
    await until(() => started, 'the follow-up to start', 10_000);
  });

  it('holds follow-ups while a request awaits its ack, then starts them in order', async () => {
    const gate = new AckFirst({ maxWaitMs: 60_000 });
    const answered = gate.requestArrived();
    const order: number[] = [];
    void gate.turn().then(() => order.push(1));
    void gate.turn().then(() => order.push(2));
    await turns();
    expect(order).toEqual([]);
    expect(gate.pendingAcks).toBe(1);
    answered();
    answered(); // a second call (close after finish) counts once
    await until(() => order.length === 2, 'both follow-ups to start', 10_000);
    expect(order).toEqual([1, 2]);
    expect(gate.pendingAcks).toBe(0);
  });

  it('never starves a follow-up: past maxWaitMs it starts though requests keep arriving', async () => {
    const gate = new AckFirst({ maxWaitMs: 20 });
    gate.requestArrived(); // never answered
    let started = false;
    void gate.turn().then(() => {
      started = true;
    });
    await until(() => started, 'the follow-up to start after its wait', 10_000);
    expect(gate.pendingAcks).toBe(1);
  });
});
