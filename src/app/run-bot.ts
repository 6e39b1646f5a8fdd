import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import type { Config } from '../config.ts';
import { createFlyMachinesClient } from '../fly/machines-client.ts';
import { registryAccess } from '../fly/registry-access.ts';
import { createRegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { slackLogger } from '../observability/bolt-logger.ts';
import {
  createHealth,
  findErrno,
  type Health,
  portError,
  startHealthServer,
} from '../observability/health.ts';
import { slackStatus } from '../observability/slack-metrics.ts';
import { slackPosterFrom } from '../slack/slack-poster.ts';
import { createVyxStore, type VyxStore } from '../store/vyx-store.ts';
import { type Bot, createBot } from './create-bot.ts';
import { gracefulShutdown, type ShutdownReport } from './graceful-shutdown.ts';
import { GuardedHttpReceiver } from './inbound/guarded-http-receiver.ts';
import { planMachineCredentials } from './machine-credentials.ts';
import { runbookBaseUrl } from './runbook-url.ts';
import { createSlackLink, type SlackLink } from './slack-link.ts';
import { type Stack, type StackIo, startStack } from './start-stack.ts';

export interface RunOptions {
  logger: Logger;
  io?: StackIo;
  /** Secret values to keep out of readiness answers. */
  secrets?: () => readonly string[];
  /** Deadline of each readiness check. Default 3 000 ms. */
  readyTimeoutMs?: number;
  /**
   * Return only once Slack is connected (default true). `false`: return as soon as health and
   * readiness listen, and follow `connected` (main.ts, so /readyz answers while Slack is away).
   */
  waitForSlack?: boolean;
  /** First retry delay of the Slack connection (doubles up to 30 s). Default 1 000 ms. */
  slackBackoffMs?: number;
}

export interface RunningBot {
  config: Config;
  stack: Stack;
  app: App;
  bot: Bot;
  store: VyxStore;
  metrics: Metrics;
  health: Health;
  slackLink: SlackLink;
  /** `http://<host>:<port>`: /healthz, /readyz, /metrics (and /slack/events in HTTP mode). */
  httpUrl: string | undefined;
  /** `http://<host>:<port>` of VYX_OPS_PORT (details and metrics without a token). */
  opsUrl?: string;
  /** Why the health port is not served (local mode with the port taken). */
  httpProblem?: string;
  /**
   * Slack connected and the watchers running. Rejects with `SLACK_CREDENTIALS_INVALID` (exit 78);
   * while Slack is unreachable it waits (retrying with backoff) and readiness says why.
   */
  connected: Promise<void>;
  /** Graceful: stop taking commands, let work in flight finish within the deadline, give leases back, close. */
  shutdown(why: string): Promise<ShutdownReport>;
}

/** Bounded retries for the bot's own Web API calls: a dead Slack costs seconds, never 30 minutes. */
const SLACK_RETRIES = { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000, randomize: false };

/**
 * The whole bot from a configuration, in this order: the stack (real services or twins), health
 * and readiness listening, then Slack — credentials checked, the connection opened (retried with
 * backoff while Slack cannot be reached) — and the watchers once Slack is there.
 */
export async function startBot(config: Config, options: RunOptions): Promise<RunningBot> {
  const { logger } = options;
  const metrics = createMetrics();
  const machineLog = logger.child({ part: 'machines' });
  const stack = await startStack(config, { log: (line) => machineLog.info(line), ...options.io });
  let running: RunningBot;
  try {
    running = await assemble(config, options, stack, metrics);
  } catch (err) {
    await stack.close();
    throw err;
  }
  if (options.waitForSlack ?? true) {
    try {
      await running.connected;
    } catch (err) {
      await running.shutdown('Slack refused the credentials');
      throw err;
    }
  }
  return running;
}

async function assemble(
  config: Config,
  options: RunOptions,
  stack: Stack,
  metrics: Metrics,
): Promise<RunningBot> {
  const { logger } = options;
  const store = createVyxStore({ url: stack.supabase.url, serviceKey: stack.supabase.serviceKey });
  const fly = createFlyMachinesClient({
    baseUrl: stack.fly.apiUrl,
    token: stack.fly.token,
    onResponse: (r) =>
      metrics.flyRequests.inc({ method: r.method, route: r.route, status: String(r.status) }),
  });
  const registryOrigin = stack.fly.registryOrigin;
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
  const probeClient = new webApi.WebClient(botToken, {
    ...(slackApiUrl ? { slackApiUrl } : {}),
    retryConfig: { retries: 0 },
    timeout: Math.max(readyTimeoutMs, 2_000),
    logger: slackLogger(logger, LogLevel.ERROR, 'slack-auth'),
    logLevel: LogLevel.ERROR,
  });
  const machineCredentials = planMachineCredentials(config, stack.supabase.twin);
  if (machineCredentials.notice) logger.warn({ part: 'machines' }, machineCredentials.notice);
  const clientOptions = {
    ...(slackApiUrl ? { slackApiUrl } : {}),
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
  const app =
    slackConfig.mode === 'twin'
      ? new App({ token: botToken, receiver: local!.receiver, clientOptions, ...boltLog })
      : socketReceiver
        ? new App({ authorize, receiver: socketReceiver, clientOptions, ...boltLog })
        : new App({
            authorize,
            // Bolt's HTTPReceiver behind the guard that refuses bodies Slack never sends (#11.3).
            receiver: new GuardedHttpReceiver({
              signingSecret: (slackConfig as { signingSecret: string }).signingSecret,
              customRoutes: health.routes(),
              logger: logger.child({ part: 'slack-http' }),
              boltLogger: boltLog.logger,
              audit: (entry) => store.recordAudit(entry),
            }),
            clientOptions,
            ...boltLog,
          });
  const slackClient = new webApi.WebClient(botToken, {
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
    slack: slackPosterFrom(slackClient),
    logger,
    metrics,
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
    startTimeoutS: config.startTimeoutS,
    preflightUnverified: config.preflightUnverified,
    ...(twin ? { subscribe: (wake) => twin.backend.listen('vyx_machine_events', () => wake()) } : {}),
  });

  if (local) {
    // Locally, the person at the terminal is an admin (deny by default still holds for everyone else).
    await store.linkIdentity({
      slackTeamId: local.identity.teamId,
      slackUserId: local.identity.userId,
      userId: `local-${local.identity.userName}`,
      role: 'admin',
      linkedBy: 'npm start',
    });
    local.receiver.setSettled(
      () => bot.idle(),
      () => bot.describeWork(),
    );
  }

  // Health first: /healthz and /readyz listen before anything talks to Slack.
  let httpUrl: string | undefined;
  let httpProblem: string | undefined;
  let opsUrl: string | undefined;
  const servers: { close(): Promise<void> }[] = [];
  const urlOf = (port: number) =>
    `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
  try {
    if (slackConfig.mode === 'http') {
      const server = (await app.start({ port: config.port, host: config.host }).catch((err: unknown) => {
        throw portError(err, 'PORT', config.port);
      })) as Server;
      httpUrl = urlOf((server.address() as AddressInfo).port);
    } else {
      try {
        const hs = await startHealthServer(health, {
          port: config.port,
          host: config.host,
          variable: 'PORT',
        });
        servers.push(hs);
        httpUrl = urlOf(hs.port);
      } catch (err) {
        // Locally a busy port must not stop the terminal chat; elsewhere health is not optional.
        if (slackConfig.mode !== 'twin') throw err;
        httpProblem = `port ${config.port} is taken (${findErrno(err) ?? 'error'}); set PORT`;
        logger.warn({ port: config.port }, `health and metrics not served: ${httpProblem}`);
      }
    }
    if (config.opsPort !== undefined) {
      const ops = await startHealthServer(health, {
        port: config.opsPort,
        host: config.host,
        variable: 'VYX_OPS_PORT',
        open: true,
      });
      servers.push(ops);
      opsUrl = urlOf(ops.port);
    }
  } catch (err) {
    for (const s of servers) await s.close();
    if (slackConfig.mode === 'http') await app.stop().catch(() => {});
    throw err;
  }

  let stopping: Promise<ShutdownReport> | undefined;
  let connecting: Promise<void> | undefined;
  const shutdown = (why: string) => {
    stopping ??= gracefulShutdown({
      why,
      deadlineMs: config.shutdownTimeoutS * 1000,
      logger: logger.child({ part: 'shutdown' }),
      health,
      app,
      bot,
      store,
      stopSlack: async () => {
        await slackLink.stop();
        await connecting?.catch(() => {});
      },
      close: async () => {
        for (const s of servers) await s.close();
        await stack.close();
      },
    });
    return stopping;
  };

  connecting = (async () => {
    if (slackConfig.mode === 'twin') {
      // The terminal: the watchers first, then the shell starts reading what the person types.
      await slackLink.connect();
      await bot.start();
      await app.start();
      return;
    }
    await slackLink.connect();
    if (stopping) return;
    await bot.start();
  })();
  // Observed by `connected`; a rejection nobody awaits yet must not crash the process.
  connecting.catch(() => {});

  return {
    config,
    stack,
    app,
    bot,
    store,
    metrics,
    health,
    slackLink,
    httpUrl,
    ...(opsUrl ? { opsUrl } : {}),
    ...(httpProblem ? { httpProblem } : {}),
    connected: connecting,
    shutdown,
  };
}

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
