import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config.ts';
import { isVyxError, VyxError } from '../errors/vyx-error.ts';
import type { FlyEmulator } from '../local/fly-emulator/fly-emulator.ts';
import type { LocalSlack } from '../local/slack-twin/create-local-slack.ts';
import type { SupabaseTwin } from '../local/supabase-twin/supabase-twin.ts';
// A thread's starter only (PGlite itself is loaded in the thread).
import { prepareSupabaseTwinThread, type TwinThread } from '../local/supabase-twin/supabase-twin-thread.ts';
import type { Logger } from '../logger.ts';

/** Where each outside service is, real or twin, as the bot needs it. */
export interface Stack {
  supabase: { url: string; serviceKey: string; label: string; twin?: SupabaseTwin };
  fly: { apiUrl: string; token: string; registryOrigin?: string; label: string; emulator?: FlyEmulator };
  slack: { label: string; local?: LocalSlack };
  close(): Promise<void>;
}

export interface StackIo {
  input?: Readable;
  output?: Writable;
  /** Machine output and emulator notes (a log file locally, not the chat). */
  log?: (line: string) => void;
  /** Start-up news a person should see at once (waiting for the database). */
  notice?: (line: string) => void;
}

/** Machine output to the log (part `machines`), start-up news as given. */
export function stackIo(logger: Logger, io: StackIo = {}): StackIo {
  const machineLog = logger.child({ part: 'machines' });
  return { log: (line) => machineLog.info(line), ...io };
}

const LOOPBACK = /^https?:\/\/(127\.|localhost[:/]|\[::1\])/;

/** `postgres://host:port/db` without user or password, for lines people read. */
function dbWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

/** Errors of a database that is down or starting (worth waiting for), as opposed to a wrong URL. */
function databaseDown(err: unknown): string | undefined {
  const seen: unknown[] = [err, ...(((err as { errors?: unknown[] })?.errors as unknown[]) ?? [])];
  for (let i = 0; i < seen.length && i < 10; i++) {
    const e = seen[i] as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
    if (!e) continue;
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P03'].includes(code))
      return code === '57P03' ? 'the database is starting up or shutting down (57P03)' : code;
    if (/timeout exceeded when trying to connect|Connection terminated/i.test(String(e.message ?? '')))
      return 'connection timed out';
    if (e.cause) seen.push(e.cause);
  }
  return undefined;
}

/** Names the variable of a port another process holds (the twins' own listen errors name none). */
function namePort(err: unknown, variable: string, port: number): unknown {
  if (isVyxError(err) && err.code === 'PORT_IN_USE') return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return err;
  return new VyxError('PORT_IN_USE', `${variable}: port ${port} is already in use`, {
    suggestion: `Set ${variable} to a free port (0 picks one), or stop what is using it.`,
    details: { variable, port, errno: code },
    cause: err,
  });
}

/**
 * The Supabase twin over DATABASE_URL: a database that is down at boot is waited for, up to
 * `VYX_DB_WAIT_S`, with one line saying so (a deploy often starts the bot and Postgres together).
 */
async function startTwinWaiting(
  config: Config,
  start: () => Promise<SupabaseTwin>,
  notice: (line: string) => void,
): Promise<SupabaseTwin> {
  const databaseUrl = config.supabase.mode === 'twin' ? config.supabase.databaseUrl : undefined;
  const until = Date.now() + config.dbWaitS * 1000;
  let said = false;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      const twin = await start();
      if (said) notice(`  database: ${dbWhere(databaseUrl!)} answers now`);
      return twin;
    } catch (err) {
      const down = databaseUrl ? databaseDown(err) : undefined;
      if (!down) throw err;
      if (Date.now() + delay > until) {
        throw new VyxError(
          'STORE_UNAVAILABLE',
          `the database at ${dbWhere(databaseUrl!)} (DATABASE_URL) did not answer within ${config.dbWaitS} s (${down})`,
          {
            suggestion: 'Start Postgres or fix DATABASE_URL; VYX_DB_WAIT_S sets how long start-up waits.',
            details: { variable: 'DATABASE_URL' },
          },
        );
      }
      if (!said) {
        notice(
          `  database: ${dbWhere(databaseUrl!)} (DATABASE_URL) is not answering (${down}); waiting up to ${config.dbWaitS} s`,
        );
        said = true;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** What can start before the configuration is read (see prepareStack). */
export interface PreparedStack {
  /** A thread compiling PGlite's WASM, for the embedded database should the configuration want it. */
  supabaseThread?: TwinThread;
}

/**
 * Work that can begin before the configuration is read, because it touches nothing: when the
 * environment may want the embedded database (not production, no SUPABASE_URL, no DATABASE_URL),
 * its thread starts loading PGlite. startStack uses it, or ends it if the configuration says otherwise.
 */
export function prepareStack(env: NodeJS.ProcessEnv): PreparedStack {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if ((env.VYX_MODE ?? '').trim() === 'production' || set('SUPABASE_URL') || set('DATABASE_URL')) return {};
  return { supabaseThread: prepareSupabaseTwinThread() };
}

/**
 * Starts the twin of every service whose credentials are absent (any mix with real services), all
 * at once — none needs another to start, and the database's seconds would otherwise come first —
 * and closes whatever started if one fails.
 */
export async function startStack(
  config: Config,
  io: StackIo = {},
  prepared: PreparedStack = {},
): Promise<Stack> {
  const thread = prepared.supabaseThread;
  const embedded = config.supabase.mode === 'twin' && !config.supabase.databaseUrl;
  if (thread && !embedded) void thread.cancel();
  const started = await Promise.allSettled([
    startSupabase(config, io, embedded ? thread : undefined),
    startFly(config, io),
    startSlack(config, io),
  ]);
  // Closed in reverse: Slack, Fly, then the database.
  const closers = started
    .flatMap((s) => (s.status === 'fulfilled' && s.value.close ? [s.value.close] : []))
    .reverse();
  const close = async () => {
    for (const c of closers) await c().catch(() => {});
  };
  const [supabase, fly, slack] = started;
  if (supabase.status === 'rejected' || fly.status === 'rejected' || slack.status === 'rejected') {
    await close();
    throw started.find((s) => s.status === 'rejected')?.reason;
  }
  return { supabase: supabase.value.part, fly: fly.value.part, slack: slack.value.part, close };
}

interface Started<T> {
  part: T;
  close?: () => Promise<void>;
}

async function startSupabase(
  config: Config,
  io: StackIo,
  thread: TwinThread | undefined,
): Promise<Started<Stack['supabase']>> {
  if (config.supabase.mode === 'real') {
    return {
      part: {
        url: config.supabase.url,
        serviceKey: config.supabase.serviceKey,
        label: `${LOOPBACK.test(config.supabase.url) ? 'the server' : 'Supabase'} at ${config.supabase.url} (SUPABASE_URL)`,
      },
    };
  }
  const twinConfig = config.supabase;
  // Twins are imported when used: a start with real services never loads PGlite (its WASM) or the
  // emulators. The embedded database opens in a thread of its own, started first (before this
  // function's first await, so before the other twins' imports) while this one loads the bot.
  const { startSupabaseTwin } = twinConfig.databaseUrl
    ? await import('../local/supabase-twin/supabase-twin.ts')
    : { startSupabaseTwin: (thread ?? prepareSupabaseTwinThread()).start };
  const twin = await startTwinWaiting(
    config,
    () =>
      startSupabaseTwin({
        dataDir: config.dataDir,
        ...(twinConfig.databaseUrl ? { databaseUrl: twinConfig.databaseUrl } : {}),
        ...(twinConfig.serviceKey ? { serviceKey: twinConfig.serviceKey } : {}),
        ...(config.supabaseJwtSecret ? { jwtSecret: config.supabaseJwtSecret } : {}),
        port: twinConfig.port,
      }).catch((err: unknown) => {
        throw namePort(err, 'SUPABASE_LOCAL_PORT', twinConfig.port);
      }),
    io.notice ?? (() => {}),
  );
  return {
    part: {
      url: twin.url,
      serviceKey: twin.serviceKey,
      label: `local twin started here at ${twin.url} over ${twin.database}`,
      twin,
    },
    close: () => twin.close(),
  };
}

async function startFly(config: Config, io: StackIo): Promise<Started<Stack['fly']>> {
  if (config.fly.mode === 'real') {
    // A server on loopback is an emulator started alone: its registry is the same origin.
    const emulator = LOOPBACK.test(config.fly.apiUrl);
    return {
      part: {
        apiUrl: config.fly.apiUrl,
        token: config.fly.token,
        ...(emulator ? { registryOrigin: config.fly.apiUrl.replace(/\/+$/, '') } : {}),
        label: emulator
          ? `the server at ${config.fly.apiUrl} (FLY_API_URL; its registry too)`
          : `Fly Machines API at ${config.fly.apiUrl}${config.fly.apiUrl === 'https://api.machines.dev' ? '' : ' (FLY_API_URL)'}`,
      },
    };
  }
  const flyPort = config.fly.port;
  const { createFlyEmulator } = await import('../local/fly-emulator/fly-emulator.ts');
  performance.mark('vyx:fly-imported');
  const emulator = await createFlyEmulator({
    port: flyPort,
    apps: { [config.flyApp]: {} },
    region: config.flyRegion,
    ...(config.fly.token ? { token: config.fly.token } : {}),
    ...(io.log ? { log: io.log } : {}),
  }).catch((err: unknown) => {
    throw namePort(err, 'FLY_LOCAL_PORT', flyPort);
  });
  performance.mark('vyx:fly');
  return {
    part: {
      apiUrl: emulator.baseUrl,
      token: emulator.token,
      registryOrigin: emulator.baseUrl,
      label: `local emulator started here at ${emulator.baseUrl} (machines are child processes running runtime/)`,
      emulator,
    },
    close: () => emulator.close(),
  };
}

async function startSlack(config: Config, io: StackIo): Promise<Started<Stack['slack']>> {
  if (config.slack.mode !== 'twin') {
    return {
      part: {
        label:
          (config.slack.mode === 'socket'
            ? 'Socket Mode (SLACK_APP_TOKEN)'
            : `HTTP on :${config.port}/slack/events (SLACK_SIGNING_SECRET)`) +
          (config.slackApiUrl
            ? `, Web API at ${config.slackApiUrl} (SLACK_API_URL)`
            : ', Web API at https://slack.com/api/'),
      },
    };
  }
  const { createLocalSlack } = await import('../local/slack-twin/create-local-slack.ts');
  performance.mark('vyx:slack-imported');
  const local = await createLocalSlack({
    dataDir: config.dataDir,
    ...(io.input ? { input: io.input } : {}),
    ...(io.output ? { output: io.output } : {}),
    // Scripted input runs like a person typing: each command after the previous one's work settled.
    shell: { timeLimitMs: config.shellTimeoutS * 1000, settleBetweenCommands: true },
  });
  performance.mark('vyx:slack');
  return {
    part: {
      label: `local twin at ${local.apiUrl} (this terminal; transcript ${local.transcriptFile || 'in memory'})`,
      local,
    },
    close: () => local.close(),
  };
}
