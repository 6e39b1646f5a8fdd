import { App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryDedupe, deliveryKeys } from '../../src/app/inbound/delivery-dedupe.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

/** A receiver as Socket Mode's is to the app: envelopes in, no HTTP, no signature. */
class EnvelopeReceiver implements Receiver {
  app: App | undefined;
  init(app: App) {
    this.app = app;
  }
  async start() {}
  async stop() {}
  deliver(body: Record<string, unknown>, retryNum?: number): Promise<{ acked: number }> {
    const state = { acked: 0 };
    const event: ReceiverEvent = {
      body,
      ack: async () => {
        state.acked++;
      },
      ...(retryNum !== undefined ? { retryNum } : {}),
    };
    return this.app!.processEvent(event).then(() => state);
  }
}

// #13.5: the dedupe needs no signature, so a Socket Mode redelivery is caught like an HTTP retry.
describe('duplicate deliveries through a receiver without signatures (Socket Mode’s shape)', () => {
  let s: StoreUnderTest;
  let receiver: EnvelopeReceiver;
  let handled = 0;
  beforeAll(async () => {
    s = await startStoreOn('pglite');
    receiver = new EnvelopeReceiver();
    const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-test' }) });
    // As register-handlers does: ack first, then the dedupe, then the work.
    const firstDelivery = createDeliveryDedupe({ store: s.store, logger: pino({ level: 'silent' }) });
    app.action('vyx_destroy', async ({ ack, body, context }) => {
      await ack();
      if (await firstDelivery({ body, context })) handled++;
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const press = (trigger: string) => ({
    type: 'block_actions',
    team: { id: 'T1' },
    user: { id: 'U1', team_id: 'T1' },
    trigger_id: trigger,
    actions: [{ type: 'button', action_id: 'vyx_destroy', value: 'vyx-12345678', action_ts: '1.2' }],
  });

  it('the same envelope twice at once, then redelivered: handled once, every delivery acknowledged, duplicates audited', async () => {
    const results = await Promise.all([receiver.deliver(press('9.1')), receiver.deliver(press('9.1'))]);
    const again = await receiver.deliver(press('9.1'), 1);
    expect(handled).toBe(1);
    expect([...results, again].map((r) => r.acked)).toEqual([1, 1, 1]);
    const { rows } = await s.twin.backend.query(
      `select action, name, outcome, args, detail from audit_log where outcome = 'duplicate' order by id`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ action: 'button', name: 'vyx_destroy', args: 'vyx-12345678' });
    expect(rows[1]?.detail).toContain('Slack retry 1');
    await receiver.deliver(press('9.2'));
    expect(handled).toBe(2);
  });

  it('keys: signature, trigger id, event id', () => {
    expect(deliveryKeys({ trigger_id: 't' }, 'v0=s')).toEqual(['sig:v0=s', 'trigger:t']);
    expect(deliveryKeys({ event_id: 'Ev1' }, undefined)).toEqual(['event:Ev1']);
    expect(deliveryKeys({}, undefined)).toEqual([]);
  });
});
