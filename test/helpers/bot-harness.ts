import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { App, LogLevel } from '@slack/bolt';
import { pino } from 'pino';
import { type Bot, createBot } from '../../src/app/create-bot.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import {
  createFlyEmulator,
  type FlyEmulator,
  type FlyEmulatorOptions,
} from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { REDACT_PATHS } from '../../src/logger.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { type BackendKind, type StoreUnderTest, startStoreOn } from './store-backends.ts';

export const TEAM = 'T0TEST0001';
export const CHANNEL = 'C0VYXLOCAL';
export const ADMIN = 'U0ADMIN001';
export const MEMBER = 'U0MEMBER01';
export const OTHER = 'U0OTHER001';
export const STRANGER = 'U0STRANGE1';

/** The vyx user ids the harness links ADMIN, MEMBER and OTHER to (uuids on a uuid user_id table). */
export const TEXT_USER_IDS = { admin: 'vyx-admin', member: 'vyx-member', other: 'vyx-other' };
export const UUID_USER_IDS = {
  admin: '63eea370-0000-4000-8000-0000000000ad',
  member: '63eea370-0000-4000-8000-0000000000e1',
  other: '63eea370-0000-4000-8000-0000000000e2',
};

export interface BotHarness {
  s: StoreUnderTest;
  emulator: FlyEmulator;
  slack: SlackApiServer;
  bot: Bot;
  url: string;
  signingSecret: string;
  /** Every log line the bot wrote (JSON). */
  logs: string[];
  /** A signed slash command, as Slack sends it. Resolves to the HTTP answer and its time. */
  command(
    text: string,
    user?: string,
    init?: { signature?: string; timestamp?: number },
  ): Promise<{ status: number; body: string; ms: number }>;
  /** A signed button press on a message. */
  press(
    actionId: string,
    value: string,
    user?: string,
    message?: { ts: string },
  ): Promise<{ status: number }>;
  /** Ephemeral answers (response_url posts) to a user, oldest first, as text. */
  ephemerals(user?: string): string[];
  /** Waits until `check` holds (or fails after `ms`). */
  until<T>(
    check: () => Promise<T> | T,
    what: string,
    ms?: number,
  ): Promise<Exclude<T, undefined | null | false | ''>>;
  close(): Promise<void>;
}

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * The bot as production runs it with the HTTP receiver (Bolt's real HTTPReceiver and request
 * signing), on the local Supabase twin, the Fly emulator (machines run runtime/) and the Slack
 * Web API twin. Watchers run; the stuck watcher only ticks when a test asks.
 */
export async function startBotHarness(
  options: {
    kind?: BackendKind;
    /** The platform's existing table with this user_id type (uuid: Postgres only). */
    userIdType?: 'text' | 'uuid';
    emulator?: FlyEmulatorOptions;
    stuckAfterS?: number;
    echoPollMs?: number;
  } = {},
): Promise<BotHarness> {
  const s = await startStoreOn(options.kind ?? 'pglite', { userIdType: options.userIdType ?? 'text' });
  const emulator = await createFlyEmulator({ apps: { 'vyx-app': {} }, ...options.emulator });
  const slack = await startSlackApiServer({
    transcriptFile: false,
    identity: { teamId: TEAM, channelId: CHANNEL },
  });
  const signingSecret = `test-signing-${randomBytes(8).toString('hex')}`;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  const app = new App({
    token: slack.botToken,
    signingSecret,
    clientOptions: { slackApiUrl: slack.apiUrl },
    logLevel: LogLevel.ERROR,
  });
  const store = s.store;
  const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
  const registry = createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl });
  const bot = createBot({
    app,
    store,
    fly,
    registry,
    slack: slackPosterFrom(app.client),
    logger,
    flyApp: 'vyx-app',
    flyRegion: 'ams',
    flyImage: 'registry.fly.io/vyx-app:latest',
    machineSupabaseUrl: s.twin.url,
    machineSupabaseServiceKey: s.twin.serviceKey,
    // As production runs with a JWT secret: each machine gets its own least-privilege token.
    machineCredentials: { jwtSecret: s.twin.jwtSecret, anonKey: s.twin.anonKey },
    alertChannel: CHANNEL,
    runbookUrl: 'https://github.com/vyx/vyxbot/blob/main/docs/diagnoses/',
    stuckSchedule: '0 0 1 1 *',
    stuckAfterS: options.stuckAfterS ?? 60,
    renotifyAfterS: 600,
    echoPollMs: options.echoPollMs ?? 100,
    startTimeoutS: 30,
  });
  const ids = options.userIdType === 'uuid' ? UUID_USER_IDS : TEXT_USER_IDS;
  await store.linkIdentity({ slackTeamId: TEAM, slackUserId: ADMIN, userId: ids.admin, role: 'admin' });
  await store.linkIdentity({ slackTeamId: TEAM, slackUserId: MEMBER, userId: ids.member, role: 'member' });
  await store.linkIdentity({ slackTeamId: TEAM, slackUserId: OTHER, userId: ids.other, role: 'member' });
  await bot.echo.start();
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  async function post(body: string, init: { signature?: string; timestamp?: number } = {}) {
    const ts = init.timestamp ?? Math.floor(Date.now() / 1000);
    const t0 = performance.now();
    const r = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': init.signature ?? sign(signingSecret, ts, body),
      },
      body,
    });
    const text = await r.text();
    return { status: r.status, body: text, ms: performance.now() - t0 };
  }

  return {
    s,
    emulator,
    slack,
    bot,
    url,
    signingSecret,
    logs,
    command(text, user = ADMIN, init = {}) {
      const body = new URLSearchParams({
        token: 'deprecated-verification-token',
        team_id: TEAM,
        team_domain: 'vyx-test',
        channel_id: CHANNEL,
        channel_name: 'vyx-local',
        user_id: user,
        user_name: user.toLowerCase(),
        command: '/vyx',
        text,
        api_app_id: 'A0VYXLOCAL',
        response_url: slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user }),
        trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
      }).toString();
      return post(body, init);
    },
    press(actionId, value, user = ADMIN, message) {
      const payload = {
        type: 'block_actions',
        team: { id: TEAM, domain: 'vyx-test' },
        user: { id: user, username: user.toLowerCase(), team_id: TEAM },
        api_app_id: 'A0VYXLOCAL',
        token: 'deprecated-verification-token',
        container: { type: 'message', channel_id: CHANNEL, message_ts: message?.ts ?? '1.000001' },
        trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
        channel: { id: CHANNEL, name: 'vyx-local' },
        response_url: slack.createResponseUrl(
          message
            ? { kind: 'message', channel: CHANNEL, user, ts: message.ts }
            : { kind: 'command', channel: CHANNEL, user },
        ),
        actions: [
          { type: 'button', action_id: actionId, block_id: 'b', value, action_ts: String(Date.now() / 1000) },
        ],
      };
      return post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    },
    ephemerals(user = ADMIN) {
      return slack.workspace
        .ephemerals()
        .filter((e) => e.user === user)
        .map((e) => e.text);
    },
    async until(check, what, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const v = await check();
        if (v) return v as never;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await app.stop().catch(() => {});
      await bot.stop();
      await emulator.close();
      await slack.close();
      await s.close();
    },
  };
}
