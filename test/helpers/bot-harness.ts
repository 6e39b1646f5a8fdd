import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { App, LogLevel } from '@slack/bolt';
import { pino } from 'pino';
import type { Dispatcher } from 'undici';
import { type Bot, createBot } from '../../src/app/create-bot.ts';
import { GuardedHttpReceiver } from '../../src/app/inbound/guarded-http-receiver.ts';
import { createFlyLogsClient } from '../../src/fly/logs-client.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { registryAccess } from '../../src/fly/registry-access.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import {
  createFlyEmulator,
  type FlyEmulator,
  type FlyEmulatorOptions,
} from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { redactingOptions } from '../../src/logger.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { createVyxStore } from '../../src/store/vyx-store.ts';
import { sign } from '../../testkit/slack-signature.ts';
import { until } from '../../testkit/until.ts';
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
  /** Any body, signed now as Slack would (unless `signature` is given), with its content type and headers. */
  raw(body: string, init?: RawInit): Promise<{ status: number; body: string; ms: number }>;
  /** The body `command()` sends (a fresh trigger id each time): keep it to replay it. */
  commandBody(text: string, user?: string): string;
  /** The body `press()` sends. */
  pressBody(actionId: string, value: string, user?: string, message?: { ts: string }): string;
  /** A signed button press on a message. */
  press(
    actionId: string,
    value: string,
    user?: string,
    message?: { ts: string },
  ): Promise<{ status: number }>;
  /** Ephemeral answers (response_url posts) to a user, oldest first, as text. */
  ephemerals(user?: string): string[];
  /** Waits until `check` holds (testkit's `until`, here for the tests that hold a harness). */
  until: typeof until;
  close(): Promise<void>;
}

export interface RawInit {
  signature?: string;
  timestamp?: number;
  contentType?: string;
  headers?: Record<string, string>;
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
    /** VYX_FAST_WATCH_MS; the fast watcher only runs when a test starts it. */
    fastWatchMs?: number;
    /** VYX_ALLOWED_REGISTRIES, and the registry client's dispatcher (e.g. trusting a test CA). */
    registry?: { allowedRegistries?: string[]; dispatcher?: Dispatcher };
    /** Reach each twin through this URL instead (e.g. a recording proxy in front of it). */
    via?: (service: 'fly' | 'slack' | 'supabase', url: string) => Promise<string>;
    preflightUnverified?: 'refuse' | 'warn';
    /** VYX_START_DIALOG=on (default off); App Home's re-render debounce. */
    startDialog?: boolean;
    homeDebounceMs?: number;
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
  const logger = pino({ level: 'debug', ...redactingOptions() }, sink);
  const via = options.via ?? (async (_service: string, url: string) => url);
  const flyUrl = await via('fly', emulator.baseUrl);
  const slackApiUrl = await via('slack', slack.apiUrl);
  const supabaseUrl = await via('supabase', s.twin.url);
  const store =
    supabaseUrl === s.twin.url
      ? s.store
      : createVyxStore({ url: supabaseUrl, serviceKey: s.twin.serviceKey });
  const app = new App({
    token: slack.botToken,
    receiver: new GuardedHttpReceiver({
      signingSecret,
      logger,
      audit: (entry) => store.recordAudit(entry),
    }),
    clientOptions: { slackApiUrl },
    logLevel: LogLevel.ERROR,
  });
  const fly = createFlyMachinesClient({ baseUrl: flyUrl, token: emulator.token });
  const registry = createRegistryClient({
    token: emulator.token,
    ...registryAccess({
      defaultImage: 'registry.fly.io/vyx-app:latest',
      allowedRegistries: options.registry?.allowedRegistries ?? [],
      emulatorOrigin: flyUrl,
    }),
    ...(options.registry?.dispatcher ? { dispatcher: options.registry.dispatcher } : {}),
  });
  const bot = createBot({
    app,
    store,
    fly,
    registry,
    logs: createFlyLogsClient({ baseUrl: flyUrl, token: emulator.token }),
    secretValues: () => [s.twin.serviceKey, emulator.token, signingSecret],
    slack: slackPosterFrom(app.client),
    logger,
    flyApp: 'vyx-app',
    flyRegion: 'ams',
    flyImage: 'registry.fly.io/vyx-app:latest',
    machineSupabaseUrl: supabaseUrl,
    machineSupabaseServiceKey: s.twin.serviceKey,
    // As production runs with a JWT secret: each machine gets its own least-privilege token.
    machineCredentials: { jwtSecret: s.twin.jwtSecret, anonKey: s.twin.anonKey },
    alertChannel: CHANNEL,
    runbookUrl: 'https://github.com/vyx/vyxbot/blob/main/docs/diagnoses/',
    stuckSchedule: '0 0 1 1 *',
    stuckAfterS: options.stuckAfterS ?? 60,
    renotifyAfterS: 600,
    echoPollMs: options.echoPollMs ?? 100,
    ...(options.fastWatchMs ? { fastWatchMs: options.fastWatchMs } : {}),
    startTimeoutS: 30,
    ...(options.preflightUnverified ? { preflightUnverified: options.preflightUnverified } : {}),
    ...(options.startDialog ? { startDialog: true } : {}),
    ...(options.homeDebounceMs !== undefined ? { homeDebounceMs: options.homeDebounceMs } : {}),
  });
  const ids = options.userIdType === 'uuid' ? UUID_USER_IDS : TEXT_USER_IDS;
  await store.linkIdentity({ slackTeamId: TEAM, slackUserId: ADMIN, userId: ids.admin, role: 'admin' });
  await store.linkIdentity({ slackTeamId: TEAM, slackUserId: MEMBER, userId: ids.member, role: 'member' });
  await store.linkIdentity({ slackTeamId: TEAM, slackUserId: OTHER, userId: ids.other, role: 'member' });
  await bot.echo.start();
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  async function post(body: string, init: RawInit = {}) {
    const ts = init.timestamp ?? Math.floor(Date.now() / 1000);
    const t0 = performance.now();
    const r = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': init.contentType ?? 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': init.signature ?? sign(signingSecret, ts, body),
        ...init.headers,
      },
      body,
    });
    const text = await r.text();
    const ms = performance.now() - t0;
    // As Slack does: a command's ack body is shown to the person who typed it.
    const form = (init.contentType ?? 'application/x-www-form-urlencoded').startsWith(
      'application/x-www-form',
    )
      ? new URLSearchParams(body)
      : undefined;
    if (r.status === 200 && text !== '' && form?.get('command')) {
      const json = r.headers.get('content-type')?.includes('application/json');
      slack.commandAck(
        { channel: form.get('channel_id') ?? CHANNEL, user: form.get('user_id') ?? ADMIN },
        json ? JSON.parse(text) : text,
      );
    }
    return { status: r.status, body: text, ms };
  }

  function commandBody(text: string, user = ADMIN): string {
    return new URLSearchParams({
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
      // Issued by the twin, as Slack issues them: it opens one dialog, once, within 3 s.
      trigger_id: slack.views.issueTrigger(user),
    }).toString();
  }

  function pressBody(actionId: string, value: string, user = ADMIN, message?: { ts: string }): string {
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
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  return {
    s,
    emulator,
    slack,
    bot,
    url,
    signingSecret,
    logs,
    raw: post,
    command(text, user = ADMIN, init = {}) {
      return post(commandBody(text, user), init);
    },
    commandBody,
    press(actionId, value, user = ADMIN, message) {
      return post(pressBody(actionId, value, user, message));
    },
    pressBody,
    ephemerals(user = ADMIN) {
      return slack.workspace
        .ephemerals()
        .filter((e) => e.user === user)
        .map((e) => e.text);
    },
    until,
    async close() {
      await app.stop().catch(() => {});
      await bot.stop();
      await emulator.close();
      await slack.close();
      await s.close();
    },
  };
}
