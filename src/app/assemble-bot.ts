import { createRequire } from 'node:module';
// Bolt's App and Socket Mode receiver modules alone: its package index also loads Express, the
// AWS Lambda receiver and the assistant (0.1–0.3 s of every start) for receivers unused here.
import type { App as BoltApp } from '@slack/bolt';
import { LogLevel } from '@slack/bolt/dist/App.js';
import { WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import { createFlyLogsClient, FLY_LOGS_DEFAULT } from '../fly/logs-client.ts';
import { createFlyMachinesClient } from '../fly/machines-client.ts';
import { registryAccess } from '../fly/registry-access.ts';
import { createRegistryClient } from '../fly/registry-client.ts';
import { createLeanFetch } from '../http/lean-fetch.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { slackLogger } from '../observability/bolt-logger.ts';
import { createHealth, type Health } from '../observability/health.ts';
import { slackStatus } from '../observability/slack-metrics.ts';
import { slackPosterFrom } from '../slack/slack-poster.ts';
import { viewPublisherFrom } from '../slack/views/view-publisher.ts';
import { createVyxStore, type VyxStore } from '../store/vyx-store.ts';
import { type Bot, createBot } from './create-bot.ts';
import { AckFirst } from './inbound/ack-first.ts';
import { GuardedHttpReceiver } from './inbound/guarded-http-receiver.ts';
import { planMachineCredentials } from './machine-credentials.ts';
import { runbookBaseUrl } from './runbook-url.ts';
import { createSlackLink, type SlackLink } from './slack-link.ts';
import type { Stack } from './start-stack.ts';

export interface AssembleOptions {
  logger: Logger;
  /** Secret values to keep out of readiness answers. */
  secrets?: () => readonly string[];
  /** Deadline of each readiness check. Default 3 000 ms. */
  readyTimeoutMs?: number;
  /** First retry delay of the Slack connection (doubles up to 30 s). Default 1 000 ms. */
  slackBackoffMs?: number;
}

export interface AssembledBot {
  store: VyxStore;
  app: BoltApp;
  bot: Bot;
  health: Health;
  slackLink: SlackLink;
  /**
   * Locally: the person at the terminal linked as an admin. Under way while the rest starts (its
   * first call into a just-opened database is one of start-up's slowest); awaited before the shell
   * reads a command. Rejects as the link failed.
   */
  localAdmin?: Promise<void>;
}

/** Bounded retries for the bot's own Web API calls: a dead Slack costs seconds, never 30 minutes. */
const SLACK_RETRIES = { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000, randomize: false };

// Their default exports through require: an ESM import of a CommonJS default is module.exports under
// Node but exports.default under vitest.
const require = createRequire(import.meta.url);
const { default: App } = require('@slack/bolt/dist/App.js') as typeof import('@slack/bolt/dist/App.js');
const { default: SocketModeReceiver } =
  require('@slack/bolt/dist/receivers/SocketModeReceiver.js') as typeof import('@slack/bolt/dist/receivers/SocketModeReceiver.js');

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Start-up assembly, nothing started yet: the store, Fly and registry clients on the stack, the
 * Slack link and Bolt app for the configured mode (Socket Mode, guarded HTTP, the local twin),
 * health and readiness checks, and the bot itself.
 */
export async function assembleBot(
  config: Config,
  options: AssembleOptions,
  stack: Stack,
  metrics: Metrics,
): Promise<AssembledBot> {
  const { logger } = options;
  const store = createVyxStore({ url: stack.supabase.url, serviceKey: stack.supabase.serviceKey });
  const fly = createFlyMachinesClient({
    baseUrl: stack.fly.apiUrl,
    token: stack.fly.token,
    onResponse: (r) =>
      metrics.flyRequests.inc({ method: r.method, route: r.route, status: String(r.status) }),
  });
  const registryOrigin = stack.fly.registryOrigin;
  // Fly serves logs from api.fly.io; an emulator (the origin that also stands for the registry) serves them itself.
  const logs = createFlyLogsClient({ baseUrl: registryOrigin ?? FLY_LOGS_DEFAULT, token: stack.fly.token });
  // The emulator stands for the Fly registry only: any other host is the real one, and gets no token.
  const registry = createRegistryClient({
    token: stack.fly.token,
    ...registryAccess({
      defaultImage: config.flyImage,
      allowedRegistries: config.allowedRegistries,
      ...(registryOrigin ? { emulatorOrigin: registryOrigin } : {}),
    }),
  });
  metrics.setOutboxSource(() => store.pendingEvents());

  const local = stack.slack.local;
  const slackConfig = config.slack;
  const slackApiUrl = local?.apiUrl ?? config.slackApiUrl;
  const botToken = slackConfig.mode === 'twin' ? local!.botToken : slackConfig.botToken;
  const readyTimeoutMs = options.readyTimeoutMs ?? 3_000;
  const boltLevel = slackConfig.mode === 'twin' ? LogLevel.ERROR : LogLevel.WARN;
  // auth.test asked once per attempt, without the client's retries (those would outlive the deadline).
  const probeClient = new WebClient(botToken, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    retryConfig: { retries: 0 },
    timeout: Math.max(readyTimeoutMs, 2_000),
    // The first WHATWG fetch of a process costs ~0.1 s of CPU (undici's fetch machinery warming up),
    // on the start-up path: the bot's other clients use the lean one already.
    fetch: createLeanFetch(),
    logger: slackLogger(logger, LogLevel.ERROR, 'slack-auth'),
    logLevel: LogLevel.ERROR,
  });
  const machineCredentials = planMachineCredentials(config, stack.supabase.twin);
  if (machineCredentials.notice) logger.warn({ part: 'machines' }, machineCredentials.notice);
  const clientOptions = {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    // Web API calls and respond() through response_url: undici's request, not WHATWG fetch (ack cost).
    fetch: createLeanFetch(),
    retryConfig: SLACK_RETRIES,
    timeout: 10_000,
  };
  const boltLog = { logger: slackLogger(logger, boltLevel), logLevel: boltLevel };
  const socketReceiver =
    slackConfig.mode === 'socket'
      ? new SocketModeReceiver({
          appToken: slackConfig.appToken,
          ...boltLog,
          // Reconnection is the link's (with backoff and a log line per change), not the client's.
          autoReconnectEnabled: false,
          installerOptions: {
            clientOptions: {
              ...(slackApiUrl ? { slackApiUrl } : {}),
              retryConfig: { retries: 0 },
              timeout: 10_000,
            },
          },
        })
      : undefined;
  const slackLink = createSlackLink({
    probe: probeClient,
    ...(socketReceiver ? { socket: socketReceiver.client } : {}),
    logger: logger.child({ part: 'slack' }),
    ...(options.slackBackoffMs ? { backoffMs: options.slackBackoffMs } : {}),
  });

  const health = createHealth({
    metrics,
    ...(machineCredentials.notice ? { notices: { machine_credentials: machineCredentials.notice } } : {}),
    timeoutMs: readyTimeoutMs,
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ops: {
      // Details are open on a loopback port in local mode; anywhere else they need the token.
      open: config.mode === 'local' && LOOPBACK_HOST.test(config.host),
      ...(config.opsToken ? { token: config.opsToken } : {}),
    },
    checks: [
      { name: 'database', run: () => store.pendingEvents() },
      {
        name: 'fly',
        // One page of nothing: a metadata filter no machine carries.
        run: (signal) =>
          fly.list(config.flyApp, { metadata: { vyx_readyz: 'probe' }, deadlineMs: readyTimeoutMs, signal }),
      },
      {
        name: 'slack',
        run: () =>
          slackLink.check().then(
            (r) => {
              metrics.slackCalls.inc({ method: 'auth.test', status: 'ok' });
              return r;
            },
            (err: unknown) => {
              metrics.slackCalls.inc({ method: 'auth.test', status: slackStatus(err) });
              throw err;
            },
          ),
        cacheOkMs: 30_000,
      },
    ],
  });

  // `authorize` instead of `token`: Bolt then never calls auth.test itself (its constructor's call
  // fails unhandled when Slack is away), and commands are acknowledged while the Web API is down.
  const authorize = async () => ({ botToken, ...slackLink.ids });
  const ackFirst = new AckFirst();
  // No conversation store: nothing here keeps state per conversation, and Bolt's default one builds
  // (and throws away) a "Conversation not found" error, stack and all, for every request.
  const common = { clientOptions, convoStore: false as const, ...boltLog };
  const app =
    slackConfig.mode === 'twin'
      ? new App({ token: botToken, receiver: local!.receiver, ...common })
      : socketReceiver
        ? new App({ authorize, receiver: socketReceiver, ...common })
        : new App({
            authorize,
            // Bolt's HTTPReceiver behind the guard that refuses bodies Slack never sends (#11.3).
            receiver: new GuardedHttpReceiver({
              signingSecret: (slackConfig as { signingSecret: string }).signingSecret,
              customRoutes: health.routes(),
              logger: logger.child({ part: 'slack-http' }),
              boltLogger: boltLog.logger,
              audit: (entry) => store.recordAudit(entry),
              ackFirst,
            }),
            ...common,
          });
  const slackClient = new WebClient(botToken, {
    ...clientOptions,
    logger: slackLogger(logger, boltLevel, 'slack-web'),
    logLevel: boltLevel,
  });

  const twin = stack.supabase.twin;
  const bot = createBot({
    app,
    store,
    fly,
    registry,
    logs,
    ...(options.secrets ? { secretValues: options.secrets } : {}),
    slack: slackPosterFrom(slackClient),
    views: viewPublisherFrom(slackClient),
    startDialog: config.startDialog,
    logger,
    metrics,
    ackFirst,
    flyApp: config.flyApp,
    flyRegion: config.flyRegion,
    flyImage: config.flyImage,
    machineSupabaseUrl: config.machineSupabaseUrl ?? stack.supabase.url,
    machineSupabaseServiceKey: config.machineSupabaseServiceKey ?? stack.supabase.serviceKey,
    ...(machineCredentials.credentials ? { machineCredentials: machineCredentials.credentials } : {}),
    ...(config.geminiApiKey ? { geminiApiKey: config.geminiApiKey } : {}),
    ...(config.alertChannel
      ? { alertChannel: config.alertChannel }
      : local
        ? { alertChannel: local.identity.channelId }
        : {}),
    runbookUrl: runbookBaseUrl(config.runbookUrl),
    ...(config.replicaId ? { replicaId: config.replicaId } : {}),
    stuckSchedule: config.stuckSchedule,
    stuckAfterS: config.stuckAfterS,
    renotifyAfterS: config.renotifyAfterS,
    echoPollMs: config.echoPollMs,
    fastWatchMs: config.fastWatchMs,
    startTimeoutS: config.startTimeoutS,
    preflightUnverified: config.preflightUnverified,
    ...(twin ? { subscribe: (wake) => twin.backend.listen('vyx_machine_events', () => wake()) } : {}),
  });

  performance.mark('vyx:bot-created');
  let localAdmin: Promise<void> | undefined;
  if (local) {
    // Locally, the person at the terminal is an admin (deny by default still holds for everyone else).
    localAdmin = store
      .linkIdentity({
        slackTeamId: local.identity.teamId,
        slackUserId: local.identity.userId,
        userId: `local-${local.identity.userName}`,
        role: 'admin',
        linkedBy: 'npm start',
      })
      .then(() => performance.mark('vyx:local-admin'))
      .then(() => {});
    localAdmin.catch(() => {}); // awaited before the shell starts; until then it must not crash
    local.receiver.setSettled(
      () => bot.idle(),
      () => bot.describeWork(),
    );
  }

  return { store, app, bot, health, slackLink, ...(localAdmin ? { localAdmin } : {}) };
}
