import { z } from 'zod';
import { credentialProblems } from './credential-problems.ts';
import { VyxError } from './errors/vyx-error.ts';
import { isRegistryHost, parseImageRef } from './fly/image-ref.ts';
import { type FlyConfig, type SlackConfig, type SupabaseConfig, serviceConfigs } from './service-configs.ts';

/**
 * Configuration from the environment. `VYX_MODE=local` (the default from a checkout): a service
 * with no URL or credentials runs as a local twin started here, and a URL given for a service means
 * "use that server" (a twin started alone, or the real one). `VYX_MODE=production` (the Docker
 * image): no twin ever starts; a missing credential is a configuration error. One error names every
 * bad or missing variable and what it should be (exit 78, EX_CONFIG).
 */

const port = z.coerce.number().int().min(0).max(65535);
const url = z.url({ protocol: /^https?$/ });
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const envSchema = z.object({
  VYX_MODE: z.enum(['local', 'production']).default('local'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  VYX_DATA_DIR: z.string().min(1).default('.vyx'),
  SUPABASE_URL: optionalText.pipe(url.optional()),
  SUPABASE_SERVICE_KEY: optionalText,
  SUPABASE_JWT_SECRET: optionalText,
  SUPABASE_ANON_KEY: optionalText,
  DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  SUPABASE_LOCAL_PORT: port.default(54321),
  SLACK_BOT_TOKEN: optionalText,
  SLACK_APP_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_ALERT_CHANNEL: optionalText,
  SLACK_API_URL: optionalText.pipe(url.optional()),
  PORT: port.default(3000),
  HOST: optionalText,
  FLY_API_TOKEN: optionalText,
  FLY_API_URL: optionalText.pipe(url.optional()),
  FLY_APP: z
    .string()
    .regex(/^[a-z0-9-]{1,63}$/)
    .default('vyx-app'),
  FLY_REGION: z
    .string()
    .regex(/^[a-z]{3}$/)
    .default('ord'),
  FLY_IMAGE: z
    .string()
    .refine((v) => isImageRef(v))
    .default('registry.fly.io/vyx-app:latest'),
  VYX_ALLOWED_REGISTRIES: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine((hosts) => hosts.every(isRegistryHost)),
  FLY_LOCAL_PORT: port.default(4280),
  MACHINE_SUPABASE_URL: optionalText.pipe(url.optional()),
  MACHINE_SUPABASE_SERVICE_KEY: optionalText,
  GEMINI_API_KEY: optionalText,
  VYX_STUCK_SCHEDULE: z.string().default('*/15 * * * * *'),
  VYX_STUCK_AFTER_S: z.coerce.number().int().min(1).default(60),
  VYX_RENOTIFY_AFTER_S: z.coerce.number().int().min(1).default(600),
  VYX_ECHO_POLL_MS: z.coerce.number().int().min(50).default(1000),
  // 0 turns it off; below 1000 a list per app would outrun Fly's limit of about one a second.
  VYX_FAST_WATCH_MS: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || v >= 1000)
    .default(2000),
  VYX_START_TIMEOUT_S: z.coerce.number().int().min(1).default(120),
  VYX_RUNBOOK_URL: optionalText.pipe(url.optional()),
  VYX_REPLICA_ID: optionalText,
  VYX_SHELL_TIMEOUT_S: z.coerce.number().int().min(1).default(120),
  VYX_SHUTDOWN_TIMEOUT_S: z.coerce.number().min(1).default(10),
  VYX_PREFLIGHT_UNVERIFIED: z.enum(['refuse', 'warn']).default('warn'),
  VYX_START_DIALOG: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.enum(['on', 'off']).optional(),
  ),
  VYX_OPS_TOKEN: optionalText,
  VYX_OPS_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    port.optional(),
  ),
  VYX_DB_WAIT_S: z.coerce.number().int().min(0).default(30),
});

export type Env = z.infer<typeof envSchema>;

function isImageRef(text: string): boolean {
  try {
    parseImageRef(text);
    return true;
  } catch {
    return false;
  }
}

/** What each variable should be, for the error message. */
const EXPECTED: Record<string, string> = {
  VYX_MODE: 'local or production',
  VYX_OPS_PORT: 'a port number (0–65535)',
  VYX_DB_WAIT_S: 'a whole number of seconds ≥ 0',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  LOG_FORMAT: 'one of auto, json, pretty',
  SLACK_API_URL:
    'an http(s) URL of a Slack Web API (for testing against a twin), e.g. http://127.0.0.1:3100/api/',
  VYX_DATA_DIR: 'a directory path',
  SUPABASE_URL: 'an http(s) URL such as https://<project>.supabase.co',
  SUPABASE_SERVICE_KEY: "the project's service_role key",
  DATABASE_URL: 'a postgres:// URL',
  SUPABASE_LOCAL_PORT: 'a port number (0–65535)',
  PORT: 'a port number (0–65535)',
  FLY_API_URL:
    'an http(s) URL such as https://api.machines.dev, or a Fly emulator started with npm run twin:fly',
  FLY_APP: 'a Fly app name (lowercase letters, digits, dashes)',
  FLY_REGION: 'a Fly region code such as ord, ams, iad',
  FLY_IMAGE: 'an image reference such as registry.fly.io/vyx-app:latest',
  VYX_ALLOWED_REGISTRIES: 'a comma-separated list of registry hosts, e.g. ghcr.io,registry.example.com:5000',
  FLY_LOCAL_PORT: 'a port number (0–65535)',
  MACHINE_SUPABASE_URL: 'an http(s) URL machines can reach Supabase at',
  VYX_STUCK_SCHEDULE: 'a cron expression with seconds, e.g. */15 * * * * *',
  VYX_STUCK_AFTER_S: 'a whole number of seconds ≥ 1',
  VYX_RENOTIFY_AFTER_S: 'a whole number of seconds ≥ 1',
  VYX_ECHO_POLL_MS: 'a whole number of milliseconds ≥ 50',
  VYX_FAST_WATCH_MS:
    '0 (off) or a whole number of milliseconds ≥ 1000 (Fly allows about one list a second per app)',
  VYX_START_TIMEOUT_S: 'a whole number of seconds ≥ 1',
  VYX_RUNBOOK_URL: 'an http(s) URL of the folder holding docs/diagnoses/',
  VYX_SHELL_TIMEOUT_S: 'a whole number of seconds ≥ 1',
  VYX_SHUTDOWN_TIMEOUT_S: 'a number of seconds ≥ 1',
  VYX_PREFLIGHT_UNVERIFIED: 'refuse or warn',
  VYX_START_DIALOG: 'on or off',
};

export type VyxMode = 'local' | 'production';

export interface Config {
  /** local: twins for what is not configured; production: real services only. */
  mode: VyxMode;
  logLevel: Env['LOG_LEVEL'];
  /** `auto`: readable (pino-pretty) when stdout is a terminal, JSON otherwise. */
  logFormat: Env['LOG_FORMAT'];
  dataDir: string;
  /** Health, readiness and metrics (and Slack's /slack/events in HTTP mode) listen here. */
  port: number;
  host: string;
  /** A Slack Web API other than slack.com's (testing against a twin). */
  slackApiUrl?: string;
  supabase: SupabaseConfig;
  slack: SlackConfig;
  alertChannel?: string;
  fly: FlyConfig;
  flyApp: string;
  flyRegion: string;
  flyImage: string;
  /** Registries other than Fly's that images may come from (never given the Fly token). */
  allowedRegistries: string[];
  /** What machines get as SUPABASE_URL / SUPABASE_SERVICE_KEY (default: the bot's own). */
  machineSupabaseUrl?: string;
  machineSupabaseServiceKey?: string;
  /** The project's JWT secret and anon key: each machine then gets its own token (least privilege). */
  supabaseJwtSecret?: string;
  supabaseAnonKey?: string;
  geminiApiKey?: string;
  stuckSchedule: string;
  stuckAfterS: number;
  renotifyAfterS: number;
  echoPollMs: number;
  fastWatchMs: number;
  startTimeoutS: number;
  runbookUrl?: string;
  replicaId?: string;
  shellTimeoutS: number;
  /** SIGTERM: how long work in flight may take before the bot gives up on it and exits. */
  shutdownTimeoutS: number;
  /** /vyx start when the registry cannot say whether the image exists: refuse, or warn and go ahead. */
  preflightUnverified: 'refuse' | 'warn';
  /** `/vyx start` with no options opens the start dialog (VYX_START_DIALOG; default on with Slack, off with the local chat). */
  startDialog: boolean;
  /** Bearer token for /metrics and detailed /readyz on PORT. */
  opsToken?: string;
  /** An internal port serving /healthz, detailed /readyz and /metrics without a token. */
  opsPort?: number;
  /** How long start-up waits for a database (DATABASE_URL) that is down. */
  dbWaitS: number;
}

/** A configuration error: the process exits with EX_CONFIG. */
export const EX_CONFIG = 78;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      problems.push(`${name} should be ${EXPECTED[name] ?? 'valid'}`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  const { missing, problems: credentials } = credentialProblems(env);
  problems.push(...credentials);
  if (missing.length > 0) {
    throw new VyxError(
      'CONFIG_MISSING',
      `VYX_MODE=production and these are not set: ${missing.join(', ')}${problems.length ? `; also ${[...new Set(problems)].join('; ')}` : ''}`,
      {
        suggestion:
          'Set them (fly secrets set NAME=…; docs/deploying.md), or run with VYX_MODE=local to use the local twins.',
        details: { variables: missing.map((m) => m.split(' ')[0]) },
      },
    );
  }
  if (problems.length > 0 || !e) {
    throw new VyxError('CONFIG_INVALID', `invalid configuration: ${[...new Set(problems)].join('; ')}`, {
      suggestion:
        'Fix these variables (see the configuration table in README.md), or unset them to use the local twins.',
      details: { variables: [...new Set(problems.map((p) => p.split(' ')[0]))] },
    });
  }
  const { supabase, slack, fly } = serviceConfigs(e);
  const opt = <K extends string, V>(key: K, value: V | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    mode: e.VYX_MODE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    dataDir: e.VYX_DATA_DIR,
    port: e.PORT,
    // Locally (the terminal chat) nothing needs to reach in from outside.
    host: e.HOST ?? (slack.mode === 'twin' ? '127.0.0.1' : '0.0.0.0'),
    ...opt('slackApiUrl', e.SLACK_API_URL),
    supabase,
    slack,
    ...opt('alertChannel', e.SLACK_ALERT_CHANNEL),
    fly,
    flyApp: e.FLY_APP,
    flyRegion: e.FLY_REGION,
    flyImage: e.FLY_IMAGE,
    allowedRegistries: e.VYX_ALLOWED_REGISTRIES,
    ...opt('machineSupabaseUrl', e.MACHINE_SUPABASE_URL),
    ...opt('machineSupabaseServiceKey', e.MACHINE_SUPABASE_SERVICE_KEY),
    ...opt('supabaseJwtSecret', e.SUPABASE_JWT_SECRET),
    ...opt('supabaseAnonKey', e.SUPABASE_ANON_KEY),
    ...opt('geminiApiKey', e.GEMINI_API_KEY),
    stuckSchedule: e.VYX_STUCK_SCHEDULE,
    stuckAfterS: e.VYX_STUCK_AFTER_S,
    renotifyAfterS: e.VYX_RENOTIFY_AFTER_S,
    echoPollMs: e.VYX_ECHO_POLL_MS,
    fastWatchMs: e.VYX_FAST_WATCH_MS,
    startTimeoutS: e.VYX_START_TIMEOUT_S,
    ...opt('runbookUrl', e.VYX_RUNBOOK_URL),
    ...opt('replicaId', e.VYX_REPLICA_ID),
    shellTimeoutS: e.VYX_SHELL_TIMEOUT_S,
    shutdownTimeoutS: e.VYX_SHUTDOWN_TIMEOUT_S,
    preflightUnverified: e.VYX_PREFLIGHT_UNVERIFIED,
    // On with Slack itself; off with the local terminal chat, whose piped scripts type `/vyx start`.
    startDialog: e.VYX_START_DIALOG ? e.VYX_START_DIALOG === 'on' : slack.mode !== 'twin',
    ...opt('opsToken', e.VYX_OPS_TOKEN),
    ...opt('opsPort', e.VYX_OPS_PORT),
    dbWaitS: e.VYX_DB_WAIT_S,
  };
}
