import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningBot, startBot } from '../../src/app/run-bot.ts';
import { loadConfig } from '../../src/config.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { LOCAL_SLACK_IDENTITY } from '../../src/local/slack-twin/slack-identity.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { logSink } from '../helpers/log-sink.ts';
import { secret } from '../helpers/secrets.ts';

const { teamId: TEAM, userId: USER, channelId: CHANNEL } = LOCAL_SLACK_IDENTITY;

// The manifest's default path, end to end: Bolt's SocketModeReceiver against the Slack twin's
// Socket Mode (apps.connections.open, a loopback WebSocket, envelopes acknowledged by id).
describe('Socket Mode on the Slack twin', () => {
  let db: TestDatabase;
  let supabase: SupabaseTwin;
  let slack: SlackApiServer;
  let bot: RunningBot;
  const sink = logSink();
  const appToken = `xapp-${secret('app')}`;

  beforeAll(async () => {
    db = await createTestDatabase('vyx_socket');
    const serviceKey = secret('service-key');
    supabase = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    slack = await startSlackApiServer({
      transcriptFile: false,
      botToken: `xoxb-${secret('bot')}`,
      appToken,
      ackTimeoutMs: 3_000,
    });
    const env = {
      SUPABASE_URL: supabase.url,
      SUPABASE_SERVICE_KEY: serviceKey,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: appToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_ALERT_CHANNEL: CHANNEL,
      FLY_LOCAL_PORT: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      VYX_STUCK_SCHEDULE: '0 0 1 1 *',
      // A typed `/vyx start` starts the defaults (with Slack the dialog would open instead).
      VYX_START_DIALOG: 'off',
      VYX_ECHO_POLL_MS: '100',
      VYX_START_TIMEOUT_S: '60',
    };
    bot = await startBot(loadConfig(env), {
      logger: createLogger({ level: 'debug', destination: sink.stream }),
      slackBackoffMs: 100,
    });
    await bot.store.linkIdentity({
      slackTeamId: TEAM,
      slackUserId: USER,
      userId: 'vyx-socket',
      role: 'admin',
    });
  }, 60_000);
  afterAll(async () => {
    await bot?.shutdown('test over');
    await slack?.close();
    await supabase?.close();
    await db?.drop();
  });

  it('/vyx start → running, a reconnect mid-work, a button press: every envelope acknowledged once and acted on once', async () => {
    expect(slack.socketMode!.connections()).toBe(1);
    const start = slack.command({ text: 'start' });
    await until(() => slack.socketMode!.envelopes()[0]?.state === 'acked', 'the start acknowledged');
    const row = await until(async () => bot.store.getActiveMachine('vyx-socket'), 'the row');

    const connects = () => sink.lines.filter((l) => l.includes('"slack":"connected"')).length;
    // Slack recycles the connection while the machine is starting…
    slack.socketMode!.sendDisconnect('refresh_requested');
    await until(() => connects() === 2 && slack.socketMode!.connections() === 1, 'reconnected');
    // …and the network drops it, with a command typed meanwhile: it waits for the new connection.
    slack.socketMode!.drop();
    const status = slack.command({ text: 'status' });
    await until(() => connects() === 3 && slack.socketMode!.connections() === 1, 'back');

    const running = await until(async () => {
      const m = await bot.store.getMachine(row.machine_id);
      return m.status === 'running' ? m : undefined;
    }, 'the machine running');
    const press = slack.pressButton({
      actionId: 'vyx_diagnose',
      value: row.machine_id,
      channel: CHANNEL,
      messageTs: running.slack_thread_ts!,
    });
    await until(
      () =>
        slack.socketMode!.envelopes().every((e) => e.state === 'acked') &&
        slack.socketMode!.envelopes().length === 3,
      'all acknowledged',
    );
    const envelopes = slack.socketMode!.envelopes();
    expect(envelopes.map((e) => e.envelopeId)).toEqual([
      start.envelopeId,
      status.envelopeId,
      press.envelopeId,
    ]);
    for (const e of envelopes)
      expect({ id: e.envelopeId, deliveries: e.deliveries, acks: e.acks }).toEqual({
        id: e.envelopeId,
        deliveries: 1,
        acks: 1,
      });

    // Acted on once each: one machine, one card; one answer to the status and one to the button.
    expect(await bot.store.listMachines({ limit: 10 })).toHaveLength(1);
    expect(slack.messages(CHANNEL).filter((m) => m.text.includes(row.machine_id))).toHaveLength(1);
    const answers = await until(() => {
      const told = slack.transcript().filter((t) => t.kind === 'response_url');
      return told.length >= 3 ? told : undefined;
    }, 'the answers');
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.transcript().filter((t) => t.kind === 'response_url')).toHaveLength(answers.length);
    const thread = slack.thread(CHANNEL, running.slack_thread_ts!);
    expect(thread.some((m) => /running/i.test(m.text))).toBe(true);
    // One log line per change of state of the connection.
    const states = sink.lines
      .map((l) => JSON.parse(l) as { slack?: string; msg: string })
      .filter((l) => l.slack);
    expect(states.map((s) => s.slack)).toEqual([
      'connecting',
      'connected',
      'reconnecting',
      'connected',
      'reconnecting',
      'connected',
    ]);
  }, 90_000);
});

describe('the twin speaks Socket Mode as Slack does', () => {
  let slack: SlackApiServer;
  const appToken = `xapp-${secret('app')}`;
  beforeAll(async () => {
    slack = await startSlackApiServer({ transcriptFile: false, appToken, ackTimeoutMs: 300 });
  });
  afterAll(async () => {
    await slack?.close();
  });

  const open = async (token: string) => {
    const r = await fetch(`${slack.apiUrl}apps.connections.open`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    return (await r.json()) as { ok: boolean; url?: string; error?: string };
  };
  const connect = async () => {
    const { url } = await open(appToken);
    const ws = new WebSocket(url!);
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await until(() => messages.some((m) => m.type === 'hello'), 'hello');
    return { ws, messages };
  };

  it('refuses a bot token (not_allowed_token_type) and a wrong one (invalid_auth); a URL opens one connection', async () => {
    expect(await open(slack.botToken)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    expect(await open(`xapp-${secret('wrong')}`)).toEqual({ ok: false, error: 'invalid_auth' });
    const { url } = await open(appToken);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    const first = new WebSocket(url!);
    await new Promise((r) => first.once('open', r));
    const second = new WebSocket(url!);
    const refused = await new Promise<string>((r) => {
      second.once('unexpected-response', (_req, res) => r(String(res.statusCode)));
      second.once('error', (e) => r(String(e.message)));
    });
    expect(refused).toMatch(/401/);
    first.terminate();
  });

  it('redelivers an unacknowledged envelope once (retry_attempt 1), then gives up', async () => {
    const { ws, messages } = await connect();
    const sent = slack.command({ text: 'help' });
    await until(
      () => slack.socketMode!.envelopes().find((e) => e.envelopeId === sent.envelopeId)?.state === 'given_up',
      'given up',
    );
    const copies = messages.filter((m) => m.envelope_id === sent.envelopeId);
    expect(copies).toHaveLength(2);
    expect(copies[0]).toMatchObject({ type: 'slash_commands', accepts_response_payload: true });
    expect(copies[0]).not.toHaveProperty('retry_attempt');
    expect(copies[1]).toMatchObject({ retry_attempt: 1, retry_reason: 'timeout' });
    expect((copies[0]!.payload as { text: string; command: string }).command).toBe('/vyx');
    ws.terminate();
  });

  it('shows what a slash command’s ack carries to the person who typed it, as Slack does', async () => {
    const { ws, messages } = await connect();
    const sent = slack.command({ text: 'help' });
    const got = await until(() => messages.find((m) => m.envelope_id === sent.envelopeId), 'delivered');
    const before = slack.workspace.ephemerals().length;
    ws.send(
      JSON.stringify({
        envelope_id: got.envelope_id,
        payload: { response_type: 'ephemeral', text: 'the help' },
      }),
    );
    const shown = await until(() => slack.workspace.ephemerals().slice(before).at(0), 'the ack shown');
    const payload = got.payload as { user_id: string; channel_id: string };
    expect(shown).toMatchObject({
      text: 'the help',
      via: 'ack',
      user: payload.user_id,
      channel: payload.channel_id,
    });
    ws.terminate();
  });

  it('keeps an envelope sent while no connection is open, and delivers it to the next one; an ack settles it', async () => {
    await until(() => slack.socketMode!.connections() === 0, 'no connection');
    const sent = slack.command({ text: 'status' });
    const { ws, messages } = await connect();
    const got = await until(() => messages.find((m) => m.envelope_id === sent.envelopeId), 'delivered');
    ws.send(JSON.stringify({ envelope_id: got.envelope_id, payload: {} }));
    await until(
      () => slack.socketMode!.envelopes().find((e) => e.envelopeId === sent.envelopeId)?.state === 'acked',
      'acked',
    );
    await new Promise((r) => setTimeout(r, 600));
    expect(messages.filter((m) => m.envelope_id === sent.envelopeId)).toHaveLength(1);
    slack.socketMode!.sendDisconnect('refresh_requested');
    await until(() => messages.some((m) => m.type === 'disconnect'), 'the refresh request');
    expect(messages.find((m) => m.type === 'disconnect')).toMatchObject({ reason: 'refresh_requested' });
    ws.terminate();
  });
});
