/**
 * The Slack twin's Web API as a WebClient (and curl) sees it: auth, Slack's error codes, form and
 * JSON bodies, threads read back, response_url rules, the rate limit with Retry-After, the spec
 * check, and no token in the transcript file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type WebAPIPlatformError, WebClient, WebClientEvent } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { silentLogger } from '../helpers/slack-harness.ts';
import {
  expectValidSlackTranscript,
  validateSlackCall,
  validateSlackResponse,
  validateTranscriptEntry,
} from '../helpers/slack-spec.ts';

const TOKEN = 'xoxb-test-1234-secret-abcdef';
let dir: string;
let server: SlackApiServer;
let client: WebClient;

const slackError = async (call: Promise<unknown>) => {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as WebAPIPlatformError | undefined;
  expect(error, 'the call should fail').toBeDefined();
  return error!.data;
};

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vyx-slack-api-'));
  server = await startSlackApiServer({
    transcriptFile: path.join(dir, 'slack-transcript.jsonl'),
    botToken: TOKEN,
    channels: [{ id: 'C0ALERTS01', name: 'vyx-alerts' }],
  });
  client = new WebClient(TOKEN, {
    slackApiUrl: server.apiUrl,
    retryConfig: { retries: 0 },
    logger: silentLogger,
  });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Slack twin Web API', () => {
  it('answers auth.test with the bot identity, and invalid_auth / not_authed for a bad or missing token', async () => {
    const me = await client.auth.test();
    expect(me).toMatchObject({ ok: true, user_id: server.identity.botUserId, bot_id: server.identity.botId });
    const bad = new WebClient('xoxb-wrong', {
      slackApiUrl: server.apiUrl,
      retryConfig: { retries: 0 },
      logger: silentLogger,
    });
    expect(await slackError(bad.chat.postMessage({ channel: 'C0VYXLOCAL', text: 'hi' }))).toMatchObject({
      ok: false,
      error: 'invalid_auth',
    });
    const none = await fetch(`${server.apiUrl}auth.test`, { method: 'POST' });
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ ok: false, error: 'not_authed' });
    expect(server.messages()).toEqual([]);
  });

  it("answers Slack's errors: no_text, channel_not_found, message_not_found, thread_not_found, invalid_blocks", async () => {
    expect(await slackError(client.chat.postMessage({ channel: 'C0VYXLOCAL' } as never))).toMatchObject({
      error: 'no_text',
    });
    expect(
      await slackError(client.chat.postMessage({ channel: 'C0VYXLOCAL', text: '', blocks: [] })),
    ).toMatchObject({
      error: 'no_text',
    });
    expect(await slackError(client.chat.postMessage({ channel: 'C0NOSUCH01', text: 'hi' }))).toMatchObject({
      error: 'channel_not_found',
    });
    expect(
      await slackError(client.chat.update({ channel: 'C0VYXLOCAL', ts: '1700000000.000001', text: 'x' })),
    ).toMatchObject({
      error: 'message_not_found',
    });
    expect(
      await slackError(
        client.chat.postMessage({ channel: 'C0VYXLOCAL', text: 'x', thread_ts: '1700000000.000001' }),
      ),
    ).toMatchObject({ error: 'thread_not_found' });
    const invalid = await slackError(
      client.chat.postMessage({
        channel: 'C0VYXLOCAL',
        text: 'card',
        blocks: [
          { type: 'section' } as never,
          { type: 'header', text: { type: 'mrkdwn', text: 'x' } } as never,
        ],
      }),
    );
    expect(invalid).toMatchObject({ error: 'invalid_blocks' });
    expect(invalid.response_metadata?.messages).toEqual([
      '[ERROR] must provide either text or fields [json-pointer:/blocks/0]',
      '[ERROR] must be plain_text [json-pointer:/blocks/1/text/type]',
    ]);
    const unknown = await fetch(`${server.apiUrl}chat.frobnicate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await unknown.json()).toEqual({ ok: false, error: 'unknown_method' });
    expect(server.messages()).toEqual([]);
  });

  it('accepts form-encoded and JSON bodies, posts by channel name, threads replies and reads them back', async () => {
    const form = await fetch(`${server.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        channel: '#vyx-alerts',
        text: 'parent',
        blocks: JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: '*parent*' } }]),
      }),
    });
    const parent = (await form.json()) as {
      ok: boolean;
      channel: string;
      ts: string;
      message: Record<string, unknown>;
    };
    expect(parent).toMatchObject({
      ok: true,
      channel: 'C0ALERTS01',
      message: { text: 'parent', type: 'message' },
    });
    const json = await fetch(`${server.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0ALERTS01', thread_ts: parent.ts, text: 'reply 1' }),
    });
    const reply = (await json.json()) as { ts: string; message: { thread_ts: string } };
    expect(reply.message.thread_ts).toBe(parent.ts);
    await client.chat.postMessage({
      channel: 'C0ALERTS01',
      thread_ts: reply.ts,
      text: 'reply to a reply goes to the parent',
    });
    await client.chat.postMessage({ channel: 'C0ALERTS01', text: 'second top-level' });

    const replies = await client.conversations.replies({ channel: 'C0ALERTS01', ts: parent.ts });
    expect(replies.messages?.map((m) => m.text)).toEqual([
      'parent',
      'reply 1',
      'reply to a reply goes to the parent',
    ]);
    expect(replies.messages?.[0]).toMatchObject({
      reply_count: 2,
      thread_ts: parent.ts,
      latest_reply: expect.any(String),
    });
    const history = await client.conversations.history({ channel: 'C0ALERTS01' });
    expect(history.messages?.map((m) => m.text)).toEqual(['second top-level', 'parent']);
    expect(server.thread('vyx-alerts', parent.ts)).toHaveLength(3);
    expect(server.messages('C0VYXLOCAL')).toEqual([]);

    const updated = await client.chat.update({
      channel: 'C0ALERTS01',
      ts: parent.ts,
      text: 'parent v2',
      blocks: [],
    });
    expect(updated).toMatchObject({ ok: true, channel: 'C0ALERTS01', ts: parent.ts, text: 'parent v2' });
    expect(server.thread('C0ALERTS01', parent.ts)[0]).not.toHaveProperty('blocks');

    const ephemeral = await client.chat.postEphemeral({
      channel: 'C0VYXLOCAL',
      user: server.identity.userId,
      text: 'psst',
    });
    expect(ephemeral.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(server.workspace.ephemerals().map((e) => e.text)).toEqual(['psst']);

    const entries = server.transcript();
    expect(entries.map((e) => e.encoding)).toContain('json');
    expectValidSlackTranscript(entries);
  });

  it('serves response_urls: ephemeral by default, in_channel, replace_original; 5 uses; unknown → 404', async () => {
    const url = server.createResponseUrl({
      kind: 'command',
      channel: 'C0VYXLOCAL',
      user: server.identity.userId,
    });
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ text: 'working…' })).status).toBe(200);
    expect((await post({ text: 'done', replace_original: true })).status).toBe(200);
    expect(server.workspace.ephemerals().map((e) => [e.text, e.replaced ?? false])).toEqual([['done', true]]);
    expect((await post({ text: 'for everyone', response_type: 'in_channel' })).status).toBe(200);
    expect(server.messages().map((m) => m.text)).toEqual(['for everyone']);
    const empty = await post({ response_type: 'ephemeral' });
    expect([empty.status, await empty.json()]).toEqual([400, { ok: false, error: 'no_text' }]);
    const fifth = await post({ text: 'fifth' });
    expect(fifth.status).toBe(200);
    const sixth = await post({ text: 'sixth' });
    expect([sixth.status, await sixth.json()]).toEqual([404, { ok: false, error: 'used_url' }]);
    const unknown = await fetch(`${server.baseUrl}/response/R9999nothere`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(server.transcript().filter((e) => e.kind === 'response_url')).toHaveLength(7);
  });

  it('never writes the token to the transcript file', async () => {
    await client.auth.test();
    await client.chat.postMessage({ channel: 'C0VYXLOCAL', text: 'hello' });
    // Slack also takes the token as an argument: it is dropped too.
    await fetch(`${server.apiUrl}chat.postMessage`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, channel: 'C0VYXLOCAL', text: 'token in the body' }),
    });
    const file = readFileSync(path.join(dir, 'slack-transcript.jsonl'), 'utf8');
    expect(file.trim().split('\n')).toHaveLength(3);
    expect(file).toContain('token in the body');
    expect(file).not.toContain(TOKEN);
    expect(file).not.toContain('1234-secret');
    expect(JSON.stringify(server.transcript())).not.toContain(TOKEN);
  });
});

describe('Slack twin rate limit', () => {
  it('answers 429 with Retry-After over the per-channel limit, and WebClient waits and retries', async () => {
    const limited = await startSlackApiServer({
      transcriptFile: false,
      botToken: TOKEN,
      rateLimit: { perSecond: 1, burst: 1 },
      channels: [{ id: 'C0ALERTS01', name: 'vyx-alerts' }],
    });
    try {
      const web = new WebClient(TOKEN, {
        slackApiUrl: limited.apiUrl,
        retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 0 },
        logger: silentLogger,
      });
      const waits: number[] = [];
      web.on(WebClientEvent.RATE_LIMITED, (seconds: number) => waits.push(seconds));
      const [a, b] = await Promise.all([
        web.chat.postMessage({ channel: 'C0VYXLOCAL', text: 'one' }),
        web.chat.postMessage({ channel: 'C0VYXLOCAL', text: 'two' }),
      ]);
      expect([a.ok, b.ok]).toEqual([true, true]);
      expect(waits).toEqual([1]);
      const statuses = limited.transcript().map((e) => e.status);
      expect(statuses).toEqual([200, 429, 200]);
      expect(limited.transcript()[1]!.response).toEqual({ ok: false, error: 'ratelimited' });
      expect(limited.messages().map((m) => m.text)).toEqual(['one', 'two']);
      // On the wire: 429 with Retry-After in seconds.
      const raw = await fetch(`${limited.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: new URLSearchParams({ channel: 'C0VYXLOCAL', text: 'three' }),
      });
      expect(raw.status).toBe(429);
      expect(raw.headers.get('retry-after')).toBe('1');
      // Another channel has its own budget.
      const other = await fetch(`${limited.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: new URLSearchParams({ channel: 'C0ALERTS01', text: 'elsewhere' }),
      });
      expect(other.status).toBe(200);
      expectValidSlackTranscript(limited.transcript());
    } finally {
      await limited.close();
    }
  });

  it('limits chat.update per workspace (Tier 3, 50 a minute), not per channel', async () => {
    const limited = await startSlackApiServer({
      transcriptFile: false,
      botToken: TOKEN,
      rateLimit: { updatesPerMinute: 2 },
      channels: [{ id: 'C0ALERTS01', name: 'vyx-alerts' }],
    });
    try {
      const call = (method: string, body: Record<string, string>) =>
        fetch(`${limited.apiUrl}${method}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: new URLSearchParams(body),
        });
      const a = limited.workspace.post({ channel: 'C0VYXLOCAL', user: 'U0VYXBOT01', text: 'a' });
      const b = limited.workspace.post({ channel: 'C0ALERTS01', user: 'U0VYXBOT01', text: 'b' });
      expect((await call('chat.update', { channel: 'C0VYXLOCAL', ts: a.ts, text: 'a1' })).status).toBe(200);
      expect((await call('chat.update', { channel: 'C0ALERTS01', ts: b.ts, text: 'b1' })).status).toBe(200);
      // A third edit anywhere in the workspace is over the budget; posts are counted apart.
      const third = await call('chat.update', { channel: 'C0ALERTS01', ts: b.ts, text: 'b2' });
      expect(third.status).toBe(429);
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await call('chat.postMessage', { channel: 'C0ALERTS01', text: 'c' })).status).toBe(200);
      expect(limited.workspace.message('C0ALERTS01', b.ts)!.text).toBe('b1');
    } finally {
      await limited.close();
    }
  });

  it('is off by default', async () => {
    const many = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.chat.postMessage({ channel: 'C0VYXLOCAL', text: `m${i}` })),
    );
    expect(many.every((r) => r.ok)).toBe(true);
    expect(server.transcript().every((e) => e.status === 200)).toBe(true);
  });
});

describe('Slack Web API spec check', () => {
  it('passes good calls and fails wrong ones', () => {
    expect(
      validateSlackCall('chat.postMessage', { channel: 'C0VYXLOCAL', text: 'hi', blocks: '[]' }),
    ).toEqual({
      ok: true,
      problems: [],
    });
    expect(
      validateSlackCall('chat.postMessage', {
        channel: 'C0VYXLOCAL',
        blocks: [{ type: 'divider' }],
        reply_broadcast: 'true',
      }).ok,
    ).toBe(true);
    expect(validateSlackCall('chat.postMessage', { text: 'no channel' })).toEqual({
      ok: false,
      problems: ['chat.postMessage: required argument channel is missing'],
    });
    expect(validateSlackCall('chat.update', { channel: 'C0VYXLOCAL', text: 'no ts' }).problems).toEqual([
      'chat.update: required argument ts is missing',
    ]);
    expect(
      validateSlackCall('chat.postMessage', {
        channel: 'C1',
        text: 'x',
        reply_broadcast: 'maybe',
        chanel: 'C1',
      }).problems,
    ).toEqual([
      'chat.postMessage: reply_broadcast should be a boolean, got "maybe"',
      'chat.postMessage: chanel is not an argument of this method',
    ]);
    expect(validateSlackCall('conversations.replies', { channel: 'C1', ts: 'soon' }).problems).toEqual([
      'conversations.replies: ts should be a number, got "soon"',
    ]);
    expect(validateSlackCall('chat.explode', {}).ok).toBe(false);
  });

  it('checks answers against the success schemas', () => {
    const good = {
      ok: true,
      channel: 'C0VYXLOCAL',
      ts: '1732345678.000100',
      message: { type: 'message', text: 'x', ts: '1732345678.000100', user: 'U0VYXBOT01' },
    };
    expect(validateSlackResponse('chat.postMessage', 200, good)).toEqual({ ok: true, problems: [] });
    expect(validateSlackResponse('chat.postMessage', 200, { ...good, ts: '17.1' }).ok).toBe(false);
    expect(validateSlackResponse('chat.postMessage', 200, { ok: true, channel: 'C0VYXLOCAL' }).ok).toBe(
      false,
    );
    expect(validateSlackResponse('chat.postMessage', 500, { ok: false, error: 'x' }).ok).toBe(false);
    expect(validateSlackResponse('chat.postMessage', 200, { ok: false, error: 'no_text' }).ok).toBe(true);
  });

  it('flags a transcript entry with a wrong call', async () => {
    const result = validateTranscriptEntry({
      seq: 4,
      time: new Date(0).toISOString(),
      kind: 'api',
      method: 'chat.postMessage',
      args: { text: 'where to?' },
      status: 200,
      response: { ok: false, error: 'channel_not_found' },
    });
    expect(result).toEqual({
      ok: false,
      problems: ['#4 chat.postMessage: required argument channel is missing'],
    });
    const respond = validateTranscriptEntry({
      seq: 5,
      time: new Date(0).toISOString(),
      kind: 'response_url',
      method: 'response_url',
      args: { text: 'x', response_type: 'public', channel: 'C1' },
      status: 200,
      response: { ok: true },
    });
    // End to end: a call without a channel reaches the twin (channel_not_found) and fails the check.
    await client.apiCall('chat.postMessage', { text: 'no channel' }).catch(() => undefined);
    const [wrong] = server.transcript();
    expect(wrong).toMatchObject({
      method: 'chat.postMessage',
      response: { ok: false, error: 'channel_not_found' },
    });
    expect(validateTranscriptEntry(wrong!).problems).toEqual([
      '#1 chat.postMessage: required argument channel is missing',
    ]);
    expect(() => expectValidSlackTranscript(server.transcript())).toThrow(
      /required argument channel is missing/,
    );
    expect(respond.problems).toEqual([
      '#5 response_url: channel is not an argument of this method',
      '#5 response_url: response_type should be in_channel or ephemeral, got "public"',
      '#5 response_url: channel is not an argument of a response_url',
    ]);
  });
});
