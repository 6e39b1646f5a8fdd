/**
 * How a scripted shell session on the local Slack twin ends (settled after the last line, or the
 * time limit naming what is pending; listeners that throw or never ack), and the prompt on a TTY.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSlack, type TestSlack, testApp } from '../helpers/slack-harness.ts';

let t: TestSlack | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('shell receiver sessions on the Slack twin', () => {
  it('waits for settled() after the last line, then resolves', async () => {
    let busy = true;
    t = await startTestSlack({ shell: { quietMs: 50 } });
    const app = await testApp(t.slack);
    let posted = false;
    app.command('/vyx', async ({ ack, command, client }) => {
      await ack();
      // Work that goes on after the listener returned, like provisioning: settled() says when it ends.
      setTimeout(() => {
        void client.chat.postMessage({ channel: command.channel_id, text: 'web-1 is running' }).then(() => {
          posted = true;
          busy = false;
        });
      }, 200);
    });
    t.slack.receiver.setSettled(() => !busy);
    t.script('/vyx start');
    await app.start();
    const outcome = await t.slack.receiver.finished;
    expect(outcome.ok).toBe(true);
    expect(posted).toBe(true);
    expect(t.output()).toContain('web-1 is running');
  });

  it('gives up after the time limit when settled() never becomes true, naming what is pending', async () => {
    t = await startTestSlack({
      shell: {
        quietMs: 20,
        timeLimitMs: 300,
        settled: async () => false,
        describePending: () => 'provisioning web-1',
      },
    });
    const app = await testApp(t.slack);
    app.command('/vyx', async ({ ack }) => {
      await ack('started');
    });
    t.script('/vyx start');
    await app.start();
    const outcome = await t.slack.receiver.finished;
    expect(outcome).toEqual({
      ok: false,
      reason: 'time-limit',
      deliveries: 1,
      pending: 'the bot is not settled (provisioning web-1)',
    });
    const lines = t
      .output()
      .split('\n')
      .filter((l) => l.includes('gave up'));
    expect(lines).toEqual([
      'vyx shell: gave up after 0.3 s waiting for the work to finish; still pending: the bot is not settled (provisioning web-1)',
    ]);
  });

  it('reports a listener that throws and one that never acks, and still ends', async () => {
    t = await startTestSlack({ shell: { ackWarningMs: 50 } });
    const app = await testApp(t.slack);
    app.command('/vyx', async ({ command }) => {
      if (command.text === 'boom') throw new Error('kaboom');
    });
    t.script('/vyx boom', '/vyx silent');
    await app.start();
    expect(await t.slack.receiver.finished).toMatchObject({ ok: true, deliveries: 2 });
    const out = t.output();
    expect(out).toContain('the bot failed on /vyx boom: kaboom');
    expect(out).toContain('the bot never acked /vyx silent: Slack would show "operation_timeout"');
  });

  it('shows a prompt on a TTY and delivers typed commands', async () => {
    t = await startTestSlack({ isTTY: true });
    const app = await testApp(t.slack);
    const texts: string[] = [];
    app.command('/vyx', async ({ ack, command }) => {
      texts.push(command.text);
      await ack({ text: 'pong' });
    });
    await app.start();
    t.input.write('/vyx ping\n');
    t.input.end();
    const outcome = await t.slack.receiver.finished;
    expect(outcome).toMatchObject({ ok: true, reason: 'end-of-input', deliveries: 1 });
    expect(texts).toEqual(['ping']);
    expect(t.output()).toContain('vyx> ');
    expect(t.output()).toContain('only visible to you');
    expect(t.output()).toContain('pong');
  });
  it('ends at once on Ctrl-C at the prompt', async () => {
    t = await startTestSlack({ isTTY: true });
    const app = await testApp(t.slack);
    await app.start();
    t.input.write('\x03');
    expect(await t.slack.receiver.finished).toEqual({ ok: false, reason: 'interrupted', deliveries: 0 });
  });
});
