import { type Logger, pino } from 'pino';

/** Paths whose values are secrets: redacted in every log line, whatever logs them. */
export const REDACT_PATHS = [
  'serviceKey',
  'token',
  'apiKey',
  'authorization',
  'headers.authorization',
  'headers.apikey',
  'env.SUPABASE_SERVICE_KEY',
  'env.SUPABASE_SERVICE_ROLE_KEY',
  'env.GEMINI_API_KEY',
  'env.FLY_API_TOKEN',
  'env.SLACK_BOT_TOKEN',
  'env.SLACK_APP_TOKEN',
  'env.SLACK_SIGNING_SECRET',
  '*.serviceKey',
  '*.token',
  '*.authorization',
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    level: options.level ?? 'info',
    name: options.name ?? 'vyxbot',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });
}

export type { Logger };
