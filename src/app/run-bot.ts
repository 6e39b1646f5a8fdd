import type { App } from '@slack/bolt';
import type { Config } from '../config.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import type { Health } from '../observability/health.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import { type AssembleOptions, assembleBot } from './assemble-bot.ts';
import type { Bot } from './create-bot.ts';
import { gracefulShutdown, type ShutdownReport } from './graceful-shutdown.ts';
import { listenHealth } from './listen-health.ts';
import type { SlackLink } from './slack-link.ts';
import { type Stack, type StackIo, stackIo, startStack } from './start-stack.ts';

export interface RunOptions extends AssembleOptions {
  io?: StackIo;
  /**
   * Return only once Slack is connected (default true). `false`: return as soon as health and
   * readiness listen, and follow `connected` (main.ts, so /readyz answers while Slack is away).
   */
  waitForSlack?: boolean;
  /**
   * The stack, started already by the caller (main.ts starts it before importing the bot's modules,
   * so the database opens while they load); otherwise started here from `io`.
   */
  stack?: Promise<Stack>;
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

/**
 * The whole bot from a configuration, in this order: the stack (real services or twins), health
 * and readiness listening, then Slack — credentials checked, the connection opened (retried with
 * backoff while Slack cannot be reached) — and the watchers once Slack is there.
 */
export async function startBot(config: Config, options: RunOptions): Promise<RunningBot> {
  const { logger } = options;
  const metrics = createMetrics();
  const stack = await (options.stack ?? startStack(config, stackIo(logger, options.io)));
  performance.mark('vyx:stack');
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
  const { store, app, bot, health, slackLink, localAdmin } = await assembleBot(
    config,
    options,
    stack,
    metrics,
  );
  performance.mark('vyx:assembled');
  const { httpUrl, opsUrl, httpProblem, servers } = await listenHealth(config, app, health, logger);
  performance.mark('vyx:health');
  const slackConfig = config.slack;

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
        for (const server of servers) await server.close();
        await stack.close();
      },
    });
    return stopping;
  };

  connecting = (async () => {
    if (slackConfig.mode === 'twin') {
      // The terminal: the watchers first, then the shell starts reading what the person types.
      await slackLink.connect();
      performance.mark('vyx:slack-connected');
      await bot.start();
      performance.mark('vyx:bot-started');
      await localAdmin;
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
