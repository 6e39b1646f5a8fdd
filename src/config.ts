import { z } from 'zod';
import { VyxError } from './errors/vyx-error.ts';

/**
 * Configuration from the environment. Every outside service is real when its credentials are set
 * and its local twin otherwise; with none set, everything runs locally. One error names every bad
 * variable and what it should be.
 */

const port = z.coerce.number().int().min(0).max(65535);
const url = z.url({ protocol: /^https?$/ });
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const envSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VYX_DATA_DIR: z.string().min(1).default('.vyx'),
  SUPABASE_URL: optionalText.pipe(url.optional()),
  SUPABASE_SERVICE_KEY: optionalText,
  DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  SUPABASE_LOCAL_PORT: port.default(54321),
});

export type Env = z.infer<typeof envSchema>;

/** What each variable should be, for the error message. */
const EXPECTED: Record<string, string> = {
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  VYX_DATA_DIR: 'a directory path',
  SUPABASE_URL: 'an http(s) URL such as https://<project>.supabase.co',
  SUPABASE_SERVICE_KEY: "the project's service_role key",
  DATABASE_URL: 'a postgres:// URL',
  SUPABASE_LOCAL_PORT: 'a port number (0–65535)',
};

export type SupabaseConfig =
  | { mode: 'real'; url: string; serviceKey: string }
  | { mode: 'twin'; port: number; databaseUrl?: string; serviceKey?: string };

export interface Config {
  logLevel: Env['LOG_LEVEL'];
  dataDir: string;
  supabase: SupabaseConfig;
}

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
  const has = (name: string) => (env[name] ?? '').trim() !== '';
  if (has('SUPABASE_URL') && !has('SUPABASE_SERVICE_KEY')) {
    problems.push('SUPABASE_SERVICE_KEY is missing: it is required when SUPABASE_URL is set');
  }
  if (problems.length > 0 || !e) {
    throw new VyxError('CONFIG_INVALID', `invalid configuration: ${[...new Set(problems)].join('; ')}`, {
      suggestion:
        'Fix these variables (see the configuration table in README.md), or unset them to use the local twins.',
      details: { variables: [...new Set(problems.map((p) => p.split(' ')[0]))] },
    });
  }
  const supabase: SupabaseConfig = e.SUPABASE_URL
    ? { mode: 'real', url: e.SUPABASE_URL, serviceKey: e.SUPABASE_SERVICE_KEY! }
    : {
        mode: 'twin',
        port: e.SUPABASE_LOCAL_PORT,
        ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
        ...(e.SUPABASE_SERVICE_KEY ? { serviceKey: e.SUPABASE_SERVICE_KEY } : {}),
      };
  return { logLevel: e.LOG_LEVEL, dataDir: e.VYX_DATA_DIR, supabase };
}
