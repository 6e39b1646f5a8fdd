import { loadConfig } from '../config.ts';
import { isVyxError } from '../errors/vyx-error.ts';
import { findErrno, portError } from '../observability/health.ts';
import { startSupabaseTwin } from './supabase-twin/supabase-twin.ts';

/**
 * `npm run twin:supabase`: the local Supabase twin alone (embedded database + RPC gateway), for
 * people developing against it. Prints its URL, its keys and its JWT secret (as `supabase status`
 * does for a local project).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const supabase = config.supabase.mode === 'twin' ? config.supabase : { mode: 'twin' as const, port: 54321 };
  const started = performance.now();
  const twin = await startSupabaseTwin({
    dataDir: config.dataDir,
    databaseUrl: supabase.databaseUrl,
    serviceKey: supabase.serviceKey,
    port: supabase.port,
  });
  const ms = Math.round(performance.now() - started);
  process.stdout.write(
    [
      `Local Supabase twin ready in ${ms} ms`,
      `  SUPABASE_URL=${twin.url}`,
      `  SUPABASE_SERVICE_KEY=${twin.serviceKey}`,
      `  SUPABASE_ANON_KEY=${twin.anonKey}`,
      `  SUPABASE_JWT_SECRET=${twin.jwtSecret}`,
      `  database: ${twin.database}`,
      `  migrations: ${twin.migrations.applied.length} applied now, ${twin.migrations.skipped.length} already applied`,
      `  try: curl -s -X POST ${twin.url}/rest/v1/rpc/vyx_list_machines -H "apikey: $SUPABASE_SERVICE_KEY" -H 'content-type: application/json' -d '{}'`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  const stop = async () => {
    await twin.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const busy = findErrno(err) === 'EADDRINUSE';
  process.stderr.write(
    `${isVyxError(err) ? err.toLine() : busy ? portError(err, 'SUPABASE_LOCAL_PORT', Number(process.env.SUPABASE_LOCAL_PORT ?? 54321)).toLine() : `twin:supabase failed: ${(err as Error).message}`}\n`,
  );
  process.exit(isVyxError(err) && err.code.startsWith('CONFIG') ? 78 : 1);
});
