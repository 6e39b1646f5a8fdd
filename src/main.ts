import { loadConfig } from './config.ts';
import { isVyxError } from './errors/vyx-error.ts';
import { startSupabaseTwin } from './local/supabase-twin.ts';
import { createVyxStore } from './store/vyx-store.ts';

/**
 * `npm start`. With no credentials everything runs locally. For now (the Slack bot, the Fly twin
 * and the watchers land with their issues) it starts the local Supabase twin, or checks the real
 * Supabase, and says which one is in use and where.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const lines: string[] = ['vyxbot'];
  let close = async () => {};
  if (config.supabase.mode === 'twin') {
    const started = performance.now();
    const twin = await startSupabaseTwin({
      dataDir: config.dataDir,
      databaseUrl: config.supabase.databaseUrl,
      serviceKey: config.supabase.serviceKey,
      port: config.supabase.port,
    });
    close = twin.close;
    lines.push(
      `  Supabase: local twin at ${twin.url} over ${twin.database}, ready in ${Math.round(performance.now() - started)} ms`,
      `            (SUPABASE_URL=${twin.url}; its service key is in ${config.dataDir}/service-key)`,
    );
  } else {
    const store = createVyxStore({ url: config.supabase.url, serviceKey: config.supabase.serviceKey });
    await store.listMachines({ limit: 1 });
    lines.push(`  Supabase: real, ${config.supabase.url} (reachable, migrations applied)`);
  }
  lines.push(
    '  Slack, Fly, watchers: not yet part of this build (see the open issues).',
    'Ctrl-C stops it.',
    '',
  );
  process.stdout.write(lines.join('\n'));
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${isVyxError(err) ? err.toLine() : `vyxbot failed to start: ${(err as Error).message}`}\n`,
  );
  process.exit(1);
});
