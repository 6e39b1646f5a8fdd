import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { prepareStack, stackIo, startStack } from './app/start-stack.ts';
import { isVyxError } from './errors/vyx-error.ts';

// Before this process loads its own modules (zod, pino, Bolt…): a thread that may be needed for the
// local database starts compiling PGlite. It touches no data until startStack gives it its options.
const prepared = prepareStack(process.env);
const [{ pino }, { EX_CONFIG, loadConfig }, { createLogger, secretValuesOf }] = await Promise.all([
  import('pino'),
  import('./config.ts'),
  import('./logger.ts'),
]);

/**
 * `npm start`: the bot with its watchers. Every service whose credentials are absent runs as a
 * local twin; with none at all, everything runs here and this terminal is the Slack channel.
 * Health, readiness and metrics are on PORT in every mode; SIGTERM shuts down gracefully.
 */
async function main(): Promise<number> {
  performance.mark('vyx:main');
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
    // Synchronous: a start-up failure right after opening must not meet a stream not yet open
    // ("sonic boom is not ready yet").
    ...(localChat ? { destination: pino.destination({ dest: logFile, sync: true, mkdir: true }) } : {}),
  });
  const say = (line: string) => stdout.write(`${line}\n`);

  const started = performance.now();
  say(`vyxbot starting (VYX_MODE=${config.mode})`);
  // The twins (PGlite above all) start while the bot's own modules (Bolt, supabase-js…) load.
  const stackStarting = startStack(config, stackIo(logger, { notice: say }), prepared);
  stackStarting.catch(() => {}); // awaited by startBot; until then a rejection must not crash
  const { startBot } = await import('./app/run-bot.ts');
  performance.mark('vyx:bot-imported');
  const running = await startBot(config, {
    logger,
    secrets: () => [...secrets],
    waitForSlack: false,
    stack: stackStarting,
  });
  const { stack, httpUrl } = running;
  // A generated local key is a secret too, though no variable holds it.
  secrets.add(stack.supabase.serviceKey);
  secrets.add(stack.fly.token);
  const local = stack.slack.local;
  // One line per dependency: what it uses (a service, a server given by URL, or a twin started here).
  say(
    [
      `  Supabase: ${stack.supabase.label}`,
      `  Fly:      ${stack.fly.label}`,
      `  Slack:    ${stack.slack.label}`,
      `  http:     ${httpUrl ? `${httpUrl} (/healthz /readyz${config.mode === 'local' && !config.opsToken ? ' /metrics' : ''})` : `not served: ${running.httpProblem}`}`,
      ...(running.opsUrl ? [`  ops:      ${running.opsUrl} (VYX_OPS_PORT: /readyz details, /metrics)`] : []),
      `  logs:     ${localChat ? logFile : `stdout (${pretty ? 'pretty' : 'JSON'})`}`,
    ].join('\n'),
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

  if (!local && config.slack.mode !== 'twin') {
    say('  Slack:    checking the credentials… (/readyz says why until connected)');
  }
  try {
    await running.connected;
  } catch (err) {
    // Wrong credentials: one line, and out (the supervisor must not restart into the same refusal).
    process.stderr.write(`${lineOf(err)}\n`);
    await Promise.race([running.shutdown('Slack refused the credentials'), sleep(3_000)]);
    return exitCodeOf(err);
  }
  if (running.slackLink.state !== 'connected') return await new Promise<number>(() => {}); // stopping
  say(
    [
      `vyxbot ready in ${Math.round(performance.now() - started)} ms`,
      `  watcher:  stuck after ${config.stuckAfterS} s, schedule "${config.stuckSchedule}"; echo polls every ${config.echoPollMs} ms`,
      local ? '  Type /vyx help. Ctrl-C or "exit" leaves.' : '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
  if (process.env.VYX_STARTUP_MARKS) process.stderr.write(startupMarks());

  if (local) {
    const outcome = await local.receiver.finished;
    await stop(`shell ${outcome.reason}`);
    return outcome.ok ? 0 : 1;
  }
  return await new Promise<number>(() => {}); // served until a signal
}

/**
 * VYX_STARTUP_MARKS=1: the `vyx:` marks set along start-up, as milliseconds since the process
 * began, each with the time since the previous one (where the seconds went, without a profiler).
 */
function startupMarks(): string {
  let previous = 0;
  const lines = performance
    .getEntriesByType('mark')
    .filter((m) => m.name.startsWith('vyx:'))
    .sort((a, b) => a.startTime - b.startTime)
    .map((m) => {
      const line = `${m.startTime.toFixed(0).padStart(6)} ms  +${(m.startTime - previous).toFixed(0).padStart(4)}  ${m.name.slice(4)}`;
      previous = m.startTime;
      return line;
    });
  const cpu = process.cpuUsage();
  return `start-up marks (since the process began):\n${lines.join('\n')}\n  cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}, system ${(cpu.system / 1000).toFixed(0)})\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Configuration and credentials: EX_CONFIG (78), so a supervisor knows a restart will not help. */
function exitCodeOf(err: unknown): number {
  return isVyxError(err) &&
    ['CONFIG_INVALID', 'CONFIG_MISSING', 'SLACK_CREDENTIALS_INVALID'].includes(err.code)
    ? EX_CONFIG
    : 1;
}

/** One line: a VyxError as it renders, anything else with its message (never a stack). */
function lineOf(err: unknown): string {
  if (isVyxError(err)) return err.toLine();
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return `vyxbot failed to start: ${String(e?.message ?? err).split('\n')[0]}${typeof e?.code === 'string' ? ` (${e.code})` : ''}`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${lineOf(err)}\n`);
    process.exit(exitCodeOf(err));
  },
);
