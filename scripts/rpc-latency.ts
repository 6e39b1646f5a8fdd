// `npm run rpc-latency`: start-up time and memory of the embedded database (cold: a new data
// directory, warm: an existing one) and the rpc round trip through the local gateway via
// supabase-js, on PGlite and on the real Postgres at 127.0.0.1:5432. A measuring script, not a test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openEmbeddedDatabase } from '../src/local/supabase-twin/embedded-database.ts';
import { startSupabaseTwin } from '../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore } from '../src/store/vyx-store.ts';

const CALLS = Number(process.env.CALLS ?? 500);
const ADMIN_URL = process.env.VYX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const t0 = performance.now();
  return fn().then((result) => {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, ms: performance.now() - t0, peakMb: peak / 2 ** 20 };
  });
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function rpcRound(label: string, databaseUrl?: string): Promise<void> {
  const twin = await startSupabaseTwin({ dataDir: null, databaseUrl });
  const store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
  const { machine } = await store.beginProvision({ userId: 'bench', flyApp: 'a', region: 'ams', image: 'i' });
  const read: number[] = [];
  const write: number[] = [];
  for (let i = 0; i < 50; i++) await store.getMachine(machine.machine_id); // warm-up
  for (let i = 0; i < CALLS; i++) {
    let t = performance.now();
    await store.getMachine(machine.machine_id);
    read.push(performance.now() - t);
    t = performance.now();
    await store.heartbeat(machine.machine_id);
    write.push(performance.now() - t);
  }
  console.log(
    `${label.padEnd(9)} rpc read (vyx_get_machine, GET) p50 ${pct(read, 0.5).toFixed(2)} ms p95 ${pct(read, 0.95).toFixed(2)} ms | ` +
      `write (vyx_heartbeat, POST) p50 ${pct(write, 0.5).toFixed(2)} ms p95 ${pct(write, 0.95).toFixed(2)} ms  (${CALLS} calls each)`,
  );
  await twin.close();
}

// Each start is measured in a process of its own, so peak RSS is that start's alone.
if (process.argv[2] === '--open') {
  const open = await peakRss(() => openEmbeddedDatabase({ dataDir: process.argv[3]! }));
  await open.result.close();
  process.stdout.write(JSON.stringify({ ms: open.ms, peakMb: open.peakMb }));
  process.exit(0);
}
const openInChild = (dir: string): { ms: number; peakMb: number } =>
  JSON.parse(execFileSync(process.execPath, [import.meta.filename, '--open', dir], { encoding: 'utf8' }));

const dir = mkdtempSync(join(tmpdir(), 'vyx-rpc-latency-'));
try {
  const cold = openInChild(dir);
  const warm = openInChild(dir);
  console.log(
    `embedded database cold start (initdb + migrations) ${cold.ms.toFixed(0)} ms, peak RSS ${cold.peakMb.toFixed(0)} MB`,
  );
  console.log(
    `embedded database warm start (existing data dir)     ${warm.ms.toFixed(0)} ms, peak RSS ${warm.peakMb.toFixed(0)} MB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

await rpcRound('pglite');
const name = `vyx_rpc_latency_${process.pid}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database ${name}`);
try {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await rpcRound('postgres', url.toString());
} finally {
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
