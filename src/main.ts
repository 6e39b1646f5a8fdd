import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startBot } from './app/run-bot.ts';
import { loadConfig } from './config.ts';
import { isVyxError } from './errors/vyx-error.ts';
import { createLogger, secretValuesOf } from './logger.ts';

/**
 * `npm start`: the bot with its watchers. Every service whose credentials are absent runs as a
 * local twin; with none at all, everything runs here and this terminal is the Slack channel.
 * Health, readiness and metrics are on PORT in every mode; SIGTERM shuts down gracefully.
 */
async function main(): Promise<number> {
  const config = loadConfig();
  const stdout = process.stdout;
  const localChat = config.slack.mode === 'twin';
  // In the terminal chat, logs would drown the conversation: they go to a file there.
  mkdirSync(config.dataDir, { recursive: true });
  const logFile = join(config.dataDir, 'vyxbot.log');
  const secrets = new Set(secretValuesOf(process.env));
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && !localChat && stdout.isTTY);
  const logger = createLogger({
    level: config.logLevel,
    format: pretty ? 'pretty' : 'json',
    secrets: () => [...secrets],
    ...(localChat ? { destination: pino.destination({ dest: logFile, sync: false, mkdir: true }) } : {}),
  });

  const started = performance.now();
  const running = await startBot(config, { logger, secrets: () => [...secrets] });
  const { stack, httpUrl } = running;
  // A generated local key is a secret too, though no variable holds it.
  secrets.add(stack.supabase.serviceKey);
  secrets.add(stack.fly.token);
  const local = stack.slack.local;

  stdout.write(
    [
      `vyxbot ready in ${Math.round(performance.now() - started)} ms`,
      `  Supabase: ${stack.supabase.label}`,
      `  Fly:      ${stack.fly.label}`,
      `  Slack:    ${stack.slack.label}`,
      `  watcher:  stuck after ${config.stuckAfterS} s, schedule "${config.stuckSchedule}"; echo polls every ${config.echoPollMs} ms`,
      `  http:     ${httpUrl ? `${httpUrl} (/healthz /readyz /metrics)` : `not served: ${running.httpProblem}`}`,
      `  logs:     ${localChat ? logFile : `stdout (${pretty ? 'pretty' : 'JSON'})`}`,
      local ? '  Type /vyx help. Ctrl-C or "exit" leaves.' : '',
      '',
    ]
      .filter((l) => l !== '')
      .map((l) => `${l}\n`)
      .join(''),
  );

  const stop = async (why: string): Promise<number> => {
    // A backstop: if closing hangs past the deadline, exit non-zero rather than be killed silently.
    setTimeout(
      () => {
        logger.fatal({ why }, 'shutdown did not finish in time; exiting');
        logger.flush();
        process.exit(1);
      },
      config.shutdownTimeoutS * 1000 + 2_000,
    ).unref();
    await running.shutdown(why);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return 0;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop(signal).then((code) => process.exit(code)));
  }

  if (local) {
    const outcome = await local.receiver.finished;
    await stop(`shell ${outcome.reason}`);
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
