import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, LogLevel } from '@slack/bolt';
import { pino } from 'pino';
import { createBot } from './app/create-bot.ts';
import { startStack } from './app/start-stack.ts';
import { loadConfig } from './config.ts';
import { isVyxError } from './errors/vyx-error.ts';
import { createFlyMachinesClient } from './fly/machines-client.ts';
import { createRegistryClient } from './fly/registry-client.ts';
import { REDACT_PATHS } from './logger.ts';
import { slackPosterFrom } from './slack/slack-poster.ts';
import { createVyxStore } from './store/vyx-store.ts';

/**
 * `npm start`: the bot with its watchers. Every service whose credentials are absent runs as a
 * local twin; with none at all, everything runs here and this terminal is the Slack channel.
 */
async function main(): Promise<number> {
  const config = loadConfig();
  const stdout = process.stdout;
  const localChat = config.slack.mode === 'twin';
  // In the terminal chat, logs would drown the conversation: they go to a file there.
  mkdirSync(config.dataDir, { recursive: true });
  const logFile = join(config.dataDir, 'vyxbot.log');
  const logger = pino(
    { level: config.logLevel, name: 'vyxbot', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    localChat ? pino.destination({ dest: logFile, sync: false, mkdir: true }) : pino.destination(1),
  );
  const machineLog = logger.child({ part: 'machines' });

  const started = performance.now();
  const stack = await startStack(config, { log: (line) => machineLog.info(line) });
  const store = createVyxStore({ url: stack.supabase.url, serviceKey: stack.supabase.serviceKey });
  const fly = createFlyMachinesClient({ baseUrl: stack.fly.apiUrl, token: stack.fly.token });
  const registryOrigin = stack.fly.registryOrigin;
  const registry = createRegistryClient({
    token: stack.fly.token,
    ...(registryOrigin ? { baseUrlFor: () => registryOrigin } : {}),
  });

  const local = stack.slack.local;
  const slackConfig = config.slack;
  const app =
    slackConfig.mode === 'twin'
      ? new App({
          token: local!.botToken,
          receiver: local!.receiver,
          clientOptions: { slackApiUrl: local!.apiUrl },
          logLevel: LogLevel.ERROR,
        })
      : slackConfig.mode === 'socket'
        ? new App({
            token: slackConfig.botToken,
            appToken: slackConfig.appToken,
            socketMode: true,
            logLevel: LogLevel.WARN,
          })
        : new App({
            token: slackConfig.botToken,
            signingSecret: slackConfig.signingSecret,
            logLevel: LogLevel.WARN,
          });

  const twin = stack.supabase.twin;
  const bot = createBot({
    app,
    store,
    fly,
    registry,
    slack: slackPosterFrom(app.client),
    logger,
    flyApp: config.flyApp,
    flyRegion: config.flyRegion,
    flyImage: config.flyImage,
    machineSupabaseUrl: config.machineSupabaseUrl ?? stack.supabase.url,
    machineSupabaseServiceKey: config.machineSupabaseServiceKey ?? stack.supabase.serviceKey,
    ...(config.geminiApiKey ? { geminiApiKey: config.geminiApiKey } : {}),
    ...(config.alertChannel
      ? { alertChannel: config.alertChannel }
      : local
        ? { alertChannel: local.identity.channelId }
        : {}),
    ...(config.runbookUrl ? { runbookUrl: config.runbookUrl } : {}),
    ...(config.replicaId ? { replicaId: config.replicaId } : {}),
    stuckSchedule: config.stuckSchedule,
    stuckAfterS: config.stuckAfterS,
    renotifyAfterS: config.renotifyAfterS,
    echoPollMs: config.echoPollMs,
    startTimeoutS: config.startTimeoutS,
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

  stdout.write(
    [
      `vyxbot ready in ${Math.round(performance.now() - started)} ms`,
      `  Supabase: ${stack.supabase.label}`,
      `  Fly:      ${stack.fly.label}`,
      `  Slack:    ${stack.slack.label}`,
      `  watcher:  stuck after ${config.stuckAfterS} s, schedule "${config.stuckSchedule}"; echo polls every ${config.echoPollMs} ms`,
      `  logs:     ${localChat ? logFile : 'stdout (JSON)'}`,
      local ? '  Type /vyx help. Ctrl-C or "exit" leaves.' : '',
      '',
    ]
      .filter((l) => l !== '')
      .map((l) => `${l}\n`)
      .join(''),
  );

  await bot.start();
  if (slackConfig.mode === 'http') await app.start(config.port);
  else await app.start();

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string) => {
    stopping ??= (async () => {
      logger.info({ why }, 'shutting down');
      await app.stop().catch(() => {});
      await bot.stop();
      await stack.close();
      logger.flush();
    })();
    return stopping;
  };
  process.once('SIGINT', () => void shutdown('SIGINT').then(() => process.exit(0)));
  process.once('SIGTERM', () => void shutdown('SIGTERM').then(() => process.exit(0)));

  if (local) {
    const outcome = await local.receiver.finished;
    await shutdown(`shell ${outcome.reason}`);
    return outcome.ok ? 0 : 1;
  }
  return await new Promise<number>(() => {}); // served until a signal
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `${isVyxError(err) ? err.toLine() : `vyxbot failed to start: ${(err as Error)?.stack ?? err}`}\n`,
    );
    process.exit(1);
  },
);
