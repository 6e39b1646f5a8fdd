// CPU time of one stuck-watcher tick, split by process: the bot (the tick child), the services in
// this process (Supabase gateway, Fly emulator), and Postgres. `scripts/node bench/tick-cpu.ts 10000 [runs]`.
// Wall time is noisy on a shared machine; CPU time says where a change went.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector/promises';
import pg from 'pg';
import { resetTables, seedStuck, startServices } from './lib.ts';
import { childrenMs, postgresMs } from './process-cpu.ts';
import { APPS, runTickChild } from './scenarios/tick.ts';

const [n = 10_000, runs = 3] = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const svc = await startServices();
const watcher = new pg.Client({ connectionString: svc.db.url });
await watcher.connect();

try {
  for (let i = 0; i < runs; i++) {
    await resetTables(svc);
    await seedStuck(svc, n, APPS);
    const pg0 = await postgresMs(watcher);
    const c0 = childrenMs();
    // With TICK_SERVICES_PROF=<file>: this process's CPU profile over the tick (gateway, emulator).
    const profFile = process.env.TICK_SERVICES_PROF;
    const session = profFile ? new inspector.Session() : undefined;
    session?.connect();
    await session?.post('Profiler.enable');
    await session?.post('Profiler.start');
    const self0 = process.cpuUsage();
    const r = await runTickChild(svc, {
      ...(process.env.TICK_BOT_PROF ? { cpuProfDir: process.env.TICK_BOT_PROF } : {}),
      // TICK_NODE_FLAGS="--trace-gc …": extra V8 flags for the bot (its output goes to stderr).
      nodeFlags: (process.env.TICK_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    });
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
      gc: (r as { gc?: unknown }).gc,
      servicesCpuMs: Math.round((self.user + self.system) / 1000),
      postgresCpuMs: (await postgresMs(watcher)) - pg0,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
} finally {
  await watcher.end();
  await svc.close();
}
