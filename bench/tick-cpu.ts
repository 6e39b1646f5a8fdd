// CPU time of one stuck-watcher tick, split by process: the bot (the tick child), the services in
// this process (Supabase gateway, Fly emulator), and Postgres. `scripts/node bench/tick-cpu.ts 10000 [runs]`.
// Wall time is noisy on a shared machine; CPU time says where a change went.
import { readFileSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector/promises';
import pg from 'pg';
import { resetTables, seedStuck, startServices } from './lib.ts';
import { APPS, runTickChild } from './scenarios/tick.ts';

const [n = 10_000, runs = 3] = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const TICK_MS = 1000 / 100; // USER_HZ

/** utime, stime (and the children's, waited for) of a /proc stat line, ms. */
function statMs(path: string, withChildren: boolean): number {
  const f = readFileSync(path, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const t = rest.slice(11, 15).map(Number); // utime stime cutime cstime
  return (t[0]! + t[1]! + (withChildren ? t[2]! + t[3]! : 0)) * TICK_MS;
}
/**
 * The CPU of this database's backends (other benchmarks share the server), read from a connection
 * of its own: asked through the twin's pool, the backend answering would leave itself out, and a
 * pool backend missing from one reading counted its whole life in the next (1-2.5 s of noise).
 */
async function postgresMs(): Promise<number> {
  const { rows } = await watcher.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  let ms = 0;
  for (const { pid } of rows) {
    try {
      ms += statMs(`/proc/${String(pid)}/stat`, false);
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}
const svc = await startServices();
const watcher = new pg.Client({ connectionString: svc.db.url });
await watcher.connect();
const childrenMs = () => {
  const f = readFileSync('/proc/self/stat', 'utf8');
  const t = f
    .slice(f.lastIndexOf(')') + 2)
    .split(' ')
    .slice(13, 15)
    .map(Number);
  return (t[0]! + t[1]!) * TICK_MS;
};

try {
  for (let i = 0; i < runs; i++) {
    await resetTables(svc);
    await seedStuck(svc, n, APPS);
    const pg0 = await postgresMs();
    const c0 = childrenMs();
    // With TICK_SERVICES_PROF=<file>: this process's CPU profile over the tick (gateway, emulator).
    const profFile = process.env.TICK_SERVICES_PROF;
    const session = profFile ? new inspector.Session() : undefined;
    session?.connect();
    await session?.post('Profiler.enable');
    await session?.post('Profiler.start');
    const self0 = process.cpuUsage();
    const r = await runTickChild(
      svc,
      process.env.TICK_BOT_PROF ? { cpuProfDir: process.env.TICK_BOT_PROF } : {},
    );
    const self = process.cpuUsage(self0);
    if (session && profFile) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profFile, JSON.stringify(profile));
      session.disconnect();
    }
    const out = {
      wallMs: Math.round(r.wallMs),
      diagnosed: r.diagnosed,
      flyRequests: r.flyRequests,
      peakRssMb: Math.round(r.peakRssMb),
      // The child's whole life (start-up included); its `tickCpuMs`, when it says, the tick's alone.
      childCpuMs: childrenMs() - c0,
      tickCpuMs: (r as { tickCpuMs?: number }).tickCpuMs,
      servicesCpuMs: Math.round((self.user + self.system) / 1000),
      postgresCpuMs: (await postgresMs()) - pg0,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
} finally {
  await watcher.end();
  await svc.close();
}
