import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../../src/local/supabase-twin/migrations.ts';

/** The real Supabase CLI, pinned in package.json (its binary comes from the npm registry). */
const CLI = createRequire(import.meta.url).resolve('supabase/dist/supabase.js');

export interface CliRun {
  code: number | null;
  output: string;
}

/** Runs `supabase <args>` in `cwd` with Node, output (stdout and stderr) together; `env` adds variables. */
export function runSupabaseCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, DO_NOT_TRACK: '1', SUPABASE_TELEMETRY_DISABLED: '1', ...env },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The CLI's form of a local URL: no TLS on the loopback server. */
export const cliDbUrl = (url: string) => `${url}${url.includes('?') ? '&' : '?'}sslmode=disable`;

/** The platform's migration, later than vyxbot's first: its own table (user_id uuid) and a row. */
export const FOREIGN_MIGRATION = {
  file: '20261130120000_platform_web_ui.sql',
  version: '20261130120000',
  sql: `create table public.cloud_machines (
  machine_id text primary key,
  user_id uuid not null,
  status text not null default 'starting',
  updated_at timestamptz not null default now()
);
insert into public.cloud_machines (machine_id, user_id, status)
values ('web-0001', '63eea370-0000-4000-8000-00000000f00d', 'provisioning');
`,
};

/** A platform's Supabase project directory holding only its own migration. */
export function platformProject(): { dir: string; migrations: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'vyx-platform-'));
  const migrations = join(dir, 'supabase', 'migrations');
  mkdirSync(migrations, { recursive: true });
  writeFileSync(join(migrations, FOREIGN_MIGRATION.file), FOREIGN_MIGRATION.sql);
  return { dir, migrations, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What docs/deploying.md tells a platform team: copy vyxbot's files into their migrations folder. */
export function copyVyxbotMigrations(into: string): string[] {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.*\.sql$/.test(f));
  for (const f of files) copyFileSync(join(MIGRATIONS_DIR, f), join(into, f));
  return files.sort();
}

/**
 * The platform's database as the CLI leaves it: the platform's own migration pushed first (so it is
 * recorded in supabase_migrations.schema_migrations), then vyxbot's files pushed beside it with
 * `--include-all` (they are older than the platform's latest). Throws with the CLI's output on failure.
 */
export async function pushPlatformThenVyxbot(
  dbUrl: string,
): Promise<{ vyxbotFiles: string[]; push: CliRun }> {
  const project = platformProject();
  try {
    const url = cliDbUrl(dbUrl);
    const first = await runSupabaseCli(['db', 'push', '--db-url', url, '--yes'], project.dir);
    if (first.code !== 0) throw new Error(`supabase db push (platform) failed:\n${first.output}`);
    const vyxbotFiles = copyVyxbotMigrations(project.migrations);
    const push = await runSupabaseCli(['db', 'push', '--db-url', url, '--include-all', '--yes'], project.dir);
    if (push.code !== 0) throw new Error(`supabase db push (vyxbot) failed:\n${push.output}`);
    return { vyxbotFiles, push };
  } finally {
    project.remove();
  }
}
