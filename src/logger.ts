import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, type LoggerOptions as PinoOptions, pino } from 'pino';
import { createSecretRedactor } from './secret-redactor.ts';

/** Paths whose values are secrets: redacted in every log line, whatever logs them. */
export const REDACT_PATHS = [
  'serviceKey',
  'token',
  'apiKey',
  'apikey',
  'botToken',
  'appToken',
  'signingSecret',
  'password',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers.Authorization',
  'headers.apikey',
  'headers["x-slack-signature"]',
  'req.headers.authorization',
  'req.headers.apikey',
  'req.headers["x-slack-signature"]',
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.config.data',
  'err.request.headers.authorization',
  'config.headers.Authorization',
  'env.SUPABASE_SERVICE_KEY',
  'env.SUPABASE_SERVICE_ROLE_KEY',
  'env.MACHINE_SUPABASE_SERVICE_KEY',
  'env.SUPABASE_MACHINE_TOKEN',
  'env.SUPABASE_JWT_SECRET',
  'jwtSecret',
  '*.jwtSecret',
  'accessToken',
  '*.accessToken',
  'env.GEMINI_API_KEY',
  'env.FLY_API_TOKEN',
  'env.SLACK_BOT_TOKEN',
  'env.SLACK_APP_TOKEN',
  'env.SLACK_SIGNING_SECRET',
  'env.DATABASE_URL',
  '*.serviceKey',
  '*.token',
  '*.apiKey',
  '*.apikey',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.apikey',
  '*.*.serviceKey',
  '*.*.token',
  '*.*.apiKey',
  '*.*.botToken',
  '*.*.signingSecret',
  '*.*.authorization',
  '*.*.Authorization',
];

const CENSOR = '[redacted]';

/**
 * pino's options that redact REDACT_PATHS: in every line by the redactor compiled once
 * (src/secret-redactor.ts says why), and in a child's bindings — which pino formats without the
 * line's hooks — by pino's own `redact` with the paths that do not start with `*` (cheap there: it
 * runs only for a line or binding that has such a key).
 */
export function redactingOptions(): Pick<PinoOptions, 'formatters' | 'redact'> {
  const redact = createSecretRedactor(REDACT_PATHS, CENSOR);
  return {
    formatters: { log: redact, bindings: redact },
    redact: { paths: REDACT_PATHS.filter((p) => !p.startsWith('*')), censor: CENSOR },
  };
}

/** Replaces every occurrence of each secret value in a text (values shorter than 8 characters are ignored). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8 && out.includes(s)) out = out.split(s).join(CENSOR);
  return out;
}

/**
 * The secret values of an environment: every variable whose name says it holds one (`*_KEY`,
 * `*_TOKEN`, `*SECRET*`, `*PASSWORD*`), and passwords inside URLs (`DATABASE_URL`).
 */
export function secretValuesOf(env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.trim().length < 8) continue;
    if (/(_KEY|_TOKEN)$|SECRET|PASSWORD/i.test(name)) values.add(value.trim());
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      try {
        const u = new URL(value);
        if (u.password) values.add(decodeURIComponent(u.password));
      } catch {
        // not a URL
      }
    }
  }
  return [...values];
}

/**
 * A stream that scrubs secret values from each line before it reaches `dest`: the net under
 * pino's path redaction, for a secret inside a message or an error text.
 */
export function scrubbingStream(
  dest: DestinationStream,
  secrets: () => readonly string[],
): DestinationStream {
  const d = dest as DestinationStream & {
    flush?: (cb?: (err?: Error) => void) => void;
    flushSync?: () => void;
  };
  return {
    write(line: string) {
      d.write(scrubSecrets(line, secrets()));
    },
    ...(d.flush ? { flush: (cb?: (err?: Error) => void) => d.flush!(cb) } : {}),
    ...(d.flushSync ? { flushSync: () => d.flushSync!() } : {}),
  } as DestinationStream;
}

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** `pretty`: pino-pretty (a person reads it); `json` (default): one JSON object a line. */
  format?: 'json' | 'pretty';
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** Secret values to scrub from every line (read on each line, so values learned later count). */
  secrets?: readonly string[] | (() => readonly string[]);
}

/** pino-pretty when asked for only: JSON logs (the terminal chat's) spare every start its import. */
function loadPretty(): typeof import('pino-pretty') {
  return createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
}

/** The bot's logger: pino, secrets redacted by path and scrubbed by value, JSON or pretty. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = typeof options.secrets === 'function' ? options.secrets : () => options.secrets as string[];
  const base: DestinationStream =
    options.format === 'pretty'
      ? loadPretty()({
          colorize: options.destination === undefined && Boolean(process.stdout.isTTY),
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
          sync: true,
          ...(options.destination ? { destination: options.destination as never } : {}),
        })
      : (options.destination ?? pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'vyxbot',
      ...redactingOptions(),
    },
    options.secrets ? scrubbingStream(base, () => secrets() ?? []) : base,
  );
}

export type { Logger };
