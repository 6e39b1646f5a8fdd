/** The terminal rendering of the local workspace: Block Kit as text, threads, updates, ephemerals, colour. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fieldText, slackText } from '../../src/local/slack-twin/block-kit-text.ts';
import { LOCAL_SLACK_IDENTITY } from '../../src/local/slack-twin/slack-identity.ts';
import { createSlackRenderer } from '../../src/local/slack-twin/slack-renderer.ts';
import { createSlackTsClock } from '../../src/local/slack-twin/slack-ts-clock.ts';
import { createSlackWorkspace, type SlackBlock } from '../../src/local/slack-twin/slack-workspace.ts';

const id = LOCAL_SLACK_IDENTITY;
const T0 = Date.UTC(2026, 10, 23, 5, 37, 12);

function setup(tty = false) {
  let clock = T0;
  const now = () => clock;
  const workspace = createSlackWorkspace({ now, channels: [{ id: id.channelId, name: id.channelName }] });
  const output = new PassThrough();
  if (tty) Object.assign(output, { isTTY: true });
  let text = '';
  output.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const renderer = createSlackRenderer({ workspace, identity: id, output, now });
  const post = (t: string, extra: { blocks?: SlackBlock[]; thread_ts?: string } = {}) =>
    workspace.post({ channel: id.channelId, user: id.botUserId, bot_id: id.botId, text: t, ...extra });
  return {
    workspace,
    renderer,
    post,
    out: () => text,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

const button = (action_id: string, label: string, extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id,
  value: 'web-1',
  text: { type: 'plain_text', text: label },
  ...extra,
});

describe('Slack renderer', () => {
  it('renders Block Kit as text with numbered buttons', () => {
    const s = setup();
    s.post('web-1: running', {
      blocks: [
        { type: 'header', block_id: 'h', text: { type: 'plain_text', text: 'Machine web-1' } },
        {
          type: 'section',
          block_id: 's',
          text: { type: 'mrkdwn', text: 'Started by <@U0LOCAL001> in <#C0VYXLOCAL|vyx-local>' },
        },
        {
          type: 'section',
          block_id: 'f',
          fields: [
            { type: 'mrkdwn', text: '*Status*\nrunning' },
            { type: 'mrkdwn', text: '*Region*: ord' },
          ],
        },
        { type: 'divider', block_id: 'd' },
        {
          type: 'context',
          block_id: 'c',
          elements: [
            { type: 'mrkdwn', text: 'heartbeat 3 s ago' },
            { type: 'plain_text', text: 'image :latest' },
          ],
        },
        {
          type: 'actions',
          block_id: 'a',
          elements: [
            button('vyx_destroy', 'Destroy', { confirm: { title: { type: 'plain_text', text: 'Sure?' } } }),
            button('vyx_diagnose', 'Diagnose'),
            button('vyx_logs', 'Logs', { url: 'https://fly.io/apps/vyx-app' }),
            { type: 'static_select', action_id: 'pick', placeholder: { type: 'plain_text', text: 'Region' } },
          ],
        },
      ],
    });
    expect(s.out()).toBe(
      [
        '[05:37:12] #vyx-local · vyx',
        '  # Machine web-1',
        '  Started by @U0LOCAL001 in #vyx-local',
        '  Status: running',
        '  Region: ord',
        '  ────────────────────────',
        '  › heartbeat 3 s ago · image :latest',
        '  [1 Destroy…] [2 Diagnose] [3 Logs ↗ https://fly.io/apps/vyx-app] [static_select: Region]',
        '',
      ].join('\n'),
    );
    expect(s.renderer.button(2)).toMatchObject({
      actionId: 'vyx_diagnose',
      blockId: 'a',
      value: 'web-1',
      ephemeral: false,
    });
    expect(s.renderer.button(1)?.confirm).toEqual({
      title: 'Sure?',
      text: '',
      confirm: 'Yes',
      deny: 'Cancel',
    });
    expect(s.renderer.button(4)).toBeUndefined();
  });

  it('indents thread replies under their parent, shows updates and keeps button numbers', () => {
    const s = setup();
    const card = (status: string): SlackBlock[] => [
      { type: 'section', block_id: 's', text: { type: 'mrkdwn', text: `web-1 is ${status}` } },
      {
        type: 'actions',
        block_id: 'a',
        elements: [button('vyx_destroy', 'Destroy'), button('vyx_retry', 'Retry')],
      },
    ];
    const parent = s.post('web-1 starting', { blocks: card('starting') });
    s.tick(1000);
    s.post('created', { thread_ts: parent.ts });
    s.tick(1000);
    s.post('booted', { thread_ts: parent.ts });
    s.tick(1000);
    s.workspace.update(id.channelId, parent.ts, { text: 'web-1 running', blocks: card('running') });
    const other = s.post('web-2 starting', { blocks: card('starting') });
    expect(s.out()).toBe(
      [
        '[05:37:12] #vyx-local · vyx',
        '  web-1 is starting',
        '  [1 Destroy] [2 Retry]',
        '    ↳ [05:37:13] vyx · in the thread of "web-1 starting"',
        '      created',
        '    ↳ [05:37:14] vyx',
        '      booted',
        '[05:37:15] #vyx-local · vyx ✎ updated its message of 05:37:12',
        '  web-1 is running',
        '  [1 Destroy] [2 Retry]',
        '[05:37:15] #vyx-local · vyx',
        '  web-1 is starting',
        '  [3 Destroy] [4 Retry]',
        '',
      ].join('\n'),
    );
    expect(s.renderer.button(3)?.messageTs).toBe(other.ts);
    expect(s.renderer.renderChannel(id.channelId)).toBe(
      [
        '[05:37:12] #vyx-local · vyx (edited)',
        '  web-1 is running',
        '  [1 Destroy] [2 Retry]',
        '    ↳ [05:37:13] vyx · in the thread of "web-1 running"',
        '      created',
        '    ↳ [05:37:14] vyx',
        '      booted',
        '[05:37:15] #vyx-local · vyx',
        '  web-1 is starting',
        '  [3 Destroy] [4 Retry]',
        '',
      ].join('\n'),
    );
  });

  it('marks ephemeral answers, their replacement and deletions', () => {
    const s = setup();
    const e = s.workspace.postEphemeral({
      channel: id.channelId,
      user: id.userId,
      text: 'Working…',
      via: 'ack',
    });
    s.workspace.replaceEphemeral(e.id, { text: 'Done' });
    s.workspace.deleteEphemeral(e.id);
    const m = s.post('bye');
    s.workspace.delete(id.channelId, m.ts);
    s.renderer.userLine(id.channelId, '/vyx help');
    expect(s.out()).toBe(
      [
        '[05:37:12] #vyx-local · vyx · only visible to you',
        '  Working…',
        '[05:37:12] #vyx-local · vyx · only visible to you, replacing the previous one',
        '  Done',
        '[05:37:12] #vyx-local · vyx ✕ removed a message only visible to you',
        '[05:37:12] #vyx-local · vyx',
        '  bye',
        '[05:37:12] #vyx-local · vyx ✕ deleted its message of 05:37:12',
        '[05:37:12] #vyx-local · local: /vyx help',
        '',
      ].join('\n'),
    );
  });

  it('uses colour only on a TTY', () => {
    const plain = setup(false);
    plain.post('hi', { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Title' } }] });
    expect(plain.out()).not.toContain('\x1b[');
    const tty = setup(true);
    tty.post('hi', { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Title' } }] });
    expect(tty.out()).toContain('\x1b[1m  # Title\x1b[0m');
  });

  it('reads mrkdwn and fields', () => {
    expect(slackText('see <https://fly.io|Fly> and <https://x.io> &amp; <!here>')).toBe(
      'see Fly (https://fly.io) and https://x.io & @here',
    );
    expect(fieldText('*Last heartbeat*\n12 s ago')).toBe('Last heartbeat: 12 s ago');
    expect(fieldText('plain')).toBe('plain');
  });

  it('makes strictly increasing Slack timestamps', () => {
    const clock = createSlackTsClock(() => 1732345678000);
    expect([clock.next(), clock.next(), clock.next()]).toEqual([
      '1732345678.000000',
      '1732345678.000001',
      '1732345678.000002',
    ]);
  });
});

describe('Block Kit check', () => {
  it('rejects what Slack rejects, naming the place, and fills in missing ids', async () => {
    const { checkBlocks } = await import('../../src/local/slack-twin/block-kit-check.ts');
    let n = 0;
    const ids = () => `g${++n}`;
    const bad = checkBlocks(
      [
        { type: 'section', block_id: 'x', text: { type: 'mrkdwn', text: 'a' } },
        { type: 'divider', block_id: 'x' },
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'x'.repeat(76) } },
            {
              type: 'button',
              action_id: 'go',
              text: { type: 'plain_text', text: 'ok' },
              confirm: { title: { type: 'plain_text', text: 't' } },
            },
          ],
        },
        { type: 'carousel' },
      ],
      ids,
    );
    expect(bad).toEqual({
      ok: false,
      messages: [
        '[ERROR] duplicate block_id: x [json-pointer:/blocks/1/block_id]',
        '[ERROR] must be less than 76 characters [json-pointer:/blocks/2/elements/0/text/text]',
        '[ERROR] must provide a text object [json-pointer:/blocks/2/elements/1/confirm/text]',
        '[ERROR] must provide a text object [json-pointer:/blocks/2/elements/1/confirm/confirm]',
        '[ERROR] must provide a text object [json-pointer:/blocks/2/elements/1/confirm/deny]',
        '[ERROR] duplicate action_id: go [json-pointer:/blocks/2/elements/1]',
        '[ERROR] unsupported type: carousel [json-pointer:/blocks/3/type]',
      ],
    });
    n = 0;
    const good = checkBlocks(
      [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Go' } }] }],
      ids,
    );
    expect(good).toEqual({
      ok: true,
      blocks: [
        {
          type: 'actions',
          block_id: 'g1',
          elements: [{ type: 'button', action_id: 'g2', text: { type: 'plain_text', text: 'Go' } }],
        },
      ],
    });
  });
});
