/**
 * A real Bolt App on the local Slack twin, driven by the shell receiver with scripted input:
 * slash commands, threads, chat.update, respond() and buttons with and without confirm dialogs. How a
 * session ends (settled, the time limit, Ctrl-C) and the TTY prompt: slack-shell-session.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { BlockAction, ButtonAction, SlashCommand } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSlack, type TestSlack, testApp } from '../helpers/slack-harness.ts';
import { expectValidSlackTranscript } from '../helpers/slack-spec.ts';

const card = (machine: string, status: string) => [
  { type: 'header', text: { type: 'plain_text', text: `Machine ${machine}` } },
  {
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*Status*\n${status}` },
      { type: 'mrkdwn', text: '*Region*\nord' },
    ],
  },
  { type: 'context', elements: [{ type: 'mrkdwn', text: 'image registry.fly.io/vyx-app:latest' }] },
  {
    type: 'actions',
    block_id: 'machine_actions',
    elements: [
      {
        type: 'button',
        action_id: 'vyx_destroy',
        style: 'danger',
        value: machine,
        text: { type: 'plain_text', text: 'Destroy' },
        confirm: {
          title: { type: 'plain_text', text: 'Destroy web-1?' },
          text: { type: 'plain_text', text: 'This deletes the machine.' },
          confirm: { type: 'plain_text', text: 'Destroy' },
          deny: { type: 'plain_text', text: 'Cancel' },
          style: 'danger',
        },
      },
      {
        type: 'button',
        action_id: 'vyx_diagnose',
        value: machine,
        text: { type: 'plain_text', text: 'Diagnose' },
      },
    ],
  },
];

let t: TestSlack | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('shell receiver + Bolt App on the Slack twin', () => {
  it('runs a scripted /vyx conversation: ack, parent, thread replies, update, respond(), then resolves', async () => {
    t = await startTestSlack();
    const { slack } = t;
    // Bolt's default start-up: the constructor calls auth.test itself.
    const app = await testApp(slack, { deferInitialization: false });
    const commands: SlashCommand[] = [];
    app.command('/vyx', async ({ ack, command, client, respond }) => {
      commands.push(command);
      await ack({ text: `Working on \`${command.text}\`…` });
      const root = await client.chat.postMessage({
        channel: command.channel_id,
        text: 'web-1: starting',
        blocks: card('web-1', 'starting'),
        metadata: { event_type: 'vyx_machine', event_payload: { machine: 'web-1' } },
      });
      await client.chat.postMessage({
        channel: root.channel!,
        thread_ts: root.ts!,
        text: 'machine created in ord',
      });
      await client.chat.postMessage({
        channel: root.channel!,
        thread_ts: root.ts!,
        text: 'web-1 is *running*',
      });
      await client.chat.update({
        channel: root.channel!,
        ts: root.ts!,
        text: 'web-1: running',
        blocks: card('web-1', 'running'),
      });
      const replies = await client.conversations.replies({ channel: root.channel!, ts: root.ts! });
      await respond({ text: `web-1 is running (${replies.messages?.length} messages in its thread)` });
    });
    t.script('/vyx start web-1');
    await app.start();
    const outcome = await slack.receiver.finished;
    await app.stop();

    expect(outcome).toEqual({ ok: true, reason: 'end-of-input', deliveries: 1 });
    // The command body is Slack's.
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({
      command: '/vyx',
      text: 'start web-1',
      user_id: slack.identity.userId,
      user_name: slack.identity.userName,
      team_id: slack.identity.teamId,
      channel_id: slack.identity.channelId,
      channel_name: 'vyx-local',
      api_app_id: slack.identity.appId,
    });
    expect(commands[0]!.response_url).toMatch(new RegExp(`^${slack.server.baseUrl}/response/`));
    expect(commands[0]!.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]{32}$/);

    // The workspace: one parent (updated) with two replies.
    const [parent, ...others] = slack.server.messages();
    expect(others).toEqual([]);
    expect(parent).toMatchObject({
      text: 'web-1: running',
      reply_count: 2,
      edited: { user: slack.botUserId },
    });
    expect(parent!.metadata).toEqual({ event_type: 'vyx_machine', event_payload: { machine: 'web-1' } });
    const thread = slack.server.thread(slack.identity.channelId, parent!.ts);
    expect(thread.map((m) => m.text)).toEqual([
      'web-1: running',
      'machine created in ord',
      'web-1 is *running*',
    ]);
    expect(slack.server.find((m) => m.text.includes('created'))).toHaveLength(1);

    // The transcript: every call, in order (auth.test runs from Bolt's constructor, so it may land
    // before or after the delivery record).
    const entries = slack.transcript();
    expect(entries.filter((e) => e.method === 'auth.test')).toHaveLength(1);
    expect(entries.filter((e) => e.method !== 'auth.test').map((e) => `${e.kind}:${e.method}`)).toEqual([
      'slash_command:/vyx',
      'ack:ack',
      'api:chat.postMessage',
      'api:chat.postMessage',
      'api:chat.postMessage',
      'api:chat.update',
      'api:conversations.replies',
      'response_url:response_url',
    ]);
    const posts = entries.filter((e) => e.method === 'chat.postMessage');
    expect(posts.map((e) => e.encoding)).toEqual(['form', 'form', 'form']);
    expect(posts[1]!.args.thread_ts).toBe(parent!.ts);
    expect(posts.every((e) => e.status === 200 && (e.response as { ok: boolean }).ok)).toBe(true);
    const tss = posts.map((e) => (e.response as { ts: string }).ts);
    expect([...tss].sort()).toEqual(tss);
    expect(new Set(tss).size).toBe(3);
    for (const ts of tss) expect(ts).toMatch(/^\d{10}\.\d{6}$/);
    const ack = entries.find((e) => e.kind === 'ack')!;
    expect(ack.response).toEqual({ text: 'Working on `start web-1`…' });
    expect(typeof ack.durationMs).toBe('number');
    expect(entries.find((e) => e.kind === 'response_url')!.args).toEqual({
      text: 'web-1 is running (3 messages in its thread)',
    });
    expectValidSlackTranscript(entries);

    // The file holds the same lines.
    const file = readFileSync(slack.transcriptFile as string, 'utf8')
      .trim()
      .split('\n');
    expect(file.map((l) => JSON.parse(l) as unknown)).toEqual(entries);

    // The rendering: the typed command, the ack as an ephemeral, the card, indented replies, the update.
    const out = t.output();
    const at = (s: string) => {
      const i = out.indexOf(s);
      expect(i, `output should contain ${JSON.stringify(s)}:\n${out}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = [
      at('#vyx-local · local: /vyx start web-1'),
      at('only visible to you\n  Working on `start web-1`…'),
      at(
        '#vyx-local · vyx\n  # Machine web-1\n  Status: starting\n  Region: ord\n  › image registry.fly.io/vyx-app:latest\n  [1 Destroy…] [2 Diagnose]',
      ),
      at('    ↳ '),
      at('      machine created in ord'),
      at('      web-1 is *running*'),
      at('✎ updated its message of'),
      at('  Status: running'),
      at('only visible to you\n  web-1 is running (3 messages in its thread)'),
      at('vyx shell: done: 1 deliveries, all work finished'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).toMatch(
      /↳ \[\d\d:\d\d:\d\d\] vyx · in the thread of "web-1: starting"\n {6}machine created in ord/,
    );
    expect(out).not.toContain('\x1b[');
    // The updated card keeps its button numbers.
    expect(out.match(/\[1 Destroy…\] \[2 Diagnose\]/g)).toHaveLength(2);
    expect(slack.renderer.renderChannel('vyx-local')).toMatch(
      /Status: running[\s\S]*↳ .*\n {6}machine created in ord\n {4}↳ .*\n {6}web-1 is \*running\*/,
    );
  });

  it('presses buttons: !2 reaches app.action with a Slack-shaped payload; a confirm button asks, "n" sends nothing, "y" sends', async () => {
    t = await startTestSlack();
    const { slack } = t;
    const app = await testApp(slack);
    let cardTs = '';
    app.command('/vyx', async ({ ack, command, client }) => {
      await ack();
      const root = await client.chat.postMessage({
        channel: command.channel_id,
        text: 'web-1: running',
        blocks: card('web-1', 'running'),
      });
      cardTs = root.ts!;
    });
    const diagnosed: BlockAction[] = [];
    const destroyed: ButtonAction[] = [];
    app.action<BlockAction>('vyx_diagnose', async ({ ack, body, client }) => {
      await ack();
      diagnosed.push(body);
      await client.chat.postMessage({
        channel: body.channel!.id,
        thread_ts: body.message!.ts,
        text: 'diagnosis: healthy',
      });
    });
    app.action<BlockAction<ButtonAction>>('vyx_destroy', async ({ ack, action, respond }) => {
      await ack();
      destroyed.push(action);
      await respond({ replace_original: true, text: `${action.value} destroyed` });
    });
    t.script('/vyx status web-1', '!2', '!1', 'n', 'press 1', 'y');
    await app.start();
    const outcome = await slack.receiver.finished;
    await app.stop();

    expect(outcome).toEqual({ ok: true, reason: 'end-of-input', deliveries: 3 });
    expect(diagnosed).toHaveLength(1);
    const body = diagnosed[0]!;
    expect(body).toMatchObject({
      type: 'block_actions',
      user: { id: slack.identity.userId, username: 'local', team_id: slack.identity.teamId },
      api_app_id: slack.identity.appId,
      team: { id: slack.identity.teamId },
      channel: { id: slack.identity.channelId, name: 'vyx-local' },
      container: {
        type: 'message',
        message_ts: cardTs,
        channel_id: slack.identity.channelId,
        is_ephemeral: false,
      },
      message: { ts: cardTs, text: 'web-1: running', type: 'message' },
      actions: [
        {
          type: 'button',
          action_id: 'vyx_diagnose',
          block_id: 'machine_actions',
          value: 'web-1',
          text: { type: 'plain_text', text: 'Diagnose' },
        },
      ],
    });
    expect(body.response_url).toMatch(new RegExp(`^${slack.server.baseUrl}/response/`));
    expect(body.trigger_id).toEqual(expect.any(String));
    expect(body.message!.blocks).toHaveLength(4);

    // The confirm dialog: asked twice; "n" sent nothing, "y" sent one press.
    const out = t.output();
    expect(out.match(/Destroy web-1\? — This deletes the machine\. \[Destroy \/ Cancel\]/g)).toHaveLength(2);
    expect(out.match(/Are you sure\? \[y\/N\]/g)).toHaveLength(2);
    expect(out).toContain('vyx shell: Cancel: nothing sent');
    expect(destroyed.map((a) => a.value)).toEqual(['web-1']);
    const kinds = slack.transcript().filter((e) => e.kind === 'block_actions');
    expect(kinds.map((e) => (e.args.actions as Array<{ action_id: string }>)[0]!.action_id)).toEqual([
      'vyx_diagnose',
      'vyx_destroy',
    ]);
    // respond({ replace_original }) from the button replaced the card; the diagnosis is in its thread.
    expect(slack.server.messages()).toMatchObject([{ ts: cardTs, text: 'web-1 destroyed', reply_count: 1 }]);
    expect(slack.server.messages()[0]!.blocks).toBeUndefined();
    expect(slack.server.thread(slack.identity.channelId, cardTs)[1]!.text).toBe('diagnosis: healthy');
    expect(out).toContain('✎ updated its message of');
    expect(out).toContain('(via response_url)');
    expectValidSlackTranscript(slack.transcript());
  });

  it('answers a press of an unknown button without sending anything', async () => {
    t = await startTestSlack();
    const app = await testApp(t.slack);
    t.script('!7', 'hello');
    await app.start();
    expect(await t.slack.receiver.finished).toEqual({ ok: true, reason: 'end-of-input', deliveries: 0 });
    expect(t.output()).toContain('vyx shell: there is no button 7 (no buttons yet)');
    expect(t.output()).toContain('vyx shell: not a command: hello');
    expect(t.slack.transcript().filter((e) => e.kind !== 'api')).toEqual([]);
  });

  it('presses a button on an ephemeral answer; respond({ replace_original }) replaces that answer', async () => {
    t = await startTestSlack();
    const { slack } = t;
    const app = await testApp(slack);
    app.command('/vyx', async ({ ack }) => {
      await ack({
        text: 'Destroy web-1?',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: 'Destroy *web-1*?' } },
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                action_id: 'confirm_destroy',
                value: 'web-1',
                text: { type: 'plain_text', text: 'Yes, destroy' },
              },
            ],
          },
        ],
      });
    });
    const bodies: BlockAction[] = [];
    app.action<BlockAction>('confirm_destroy', async ({ ack, body, respond }) => {
      await ack();
      bodies.push(body);
      await respond({ replace_original: true, text: 'web-1 destroyed' });
    });
    t.script('/vyx destroy web-1', '!1');
    await app.start();
    expect(await slack.receiver.finished).toMatchObject({ ok: true, deliveries: 2 });
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.container).toMatchObject({
      type: 'message',
      is_ephemeral: true,
      channel_id: slack.identity.channelId,
    });
    expect(bodies[0]).not.toHaveProperty('message');
    expect(slack.server.workspace.ephemerals().map((e) => [e.text, e.replaced ?? false])).toEqual([
      ['web-1 destroyed', true],
    ]);
    expect(slack.server.messages()).toEqual([]);
    expect(t.output()).toContain('only visible to you, replacing the previous one\n  web-1 destroyed');
    expectValidSlackTranscript(slack.transcript());
  });
});
