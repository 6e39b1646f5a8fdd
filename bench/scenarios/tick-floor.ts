// The floor of a stuck-watcher tick on this machine: what the services alone (Supabase gateway,
// Fly emulator, Postgres) take to answer exactly the requests one tick makes, when the client does
// no work at all — the wall a tick cannot go below here, however little the bot does.
//
// One tick runs through a recording proxy; the database is then put back as it was before that
// tick, and the recorded requests are replayed from a child process (bench/tick-floor-replay.ts)
// that sends the recorded bytes and drains the answers, as many at once as the tick had. Each run
// replays once and runs a real tick once, each on the same restored data.
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { request } from 'undici';
import { BOT_NODE_FLAGS, pct, r1, resetTables, type Services, seedStuck } from '../lib.ts';
import { childrenMs, postgresMs } from '../process-cpu.ts';
import { APPS, runTickChild } from './tick.ts';

export interface Recorded {
  target: 'gateway' | 'fly';
  method: string;
  path: string;
  headers: Record<string, string>;
  /** base64 */
  body: string;
  startMs: number;
  endMs: number;
}

export interface FloorRun {
  kind: 'replay' | 'tick';
  wall_ms: number;
  /** The replayer's or the bot's whole process (start-up included). */
  client_cpu_ms: number;
  services_cpu_ms: number;
  postgres_cpu_ms: number;
  diagnoses_written: number;
}

export interface TickFloor {
  rows: number;
  requests: number;
  body_mb: number;
  /** Requests in flight at once in the recorded tick (the replay's concurrency). */
  concurrency: number;
  /** Medians over the runs. */
  replay_wall_ms: number;
  tick_wall_ms: number;
  ratio_tick_over_floor: number;
  replay_services_cpu_ms: number;
  replay_postgres_cpu_ms: number;
  runs: FloorRun[];
}

const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);
const REPLAYER = fileURLToPath(new URL('../tick-floor-replay.ts', import.meta.url));
const TABLES = ['cloud_machines', 'diagnoses', 'machine_events'];

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function headersOf(from: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) if (!HOP.has(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** A loopback proxy to `origin` that records every request it passes on. */
function recordingProxy(
  target: Recorded['target'],
  origin: string,
  recorded: Recorded[],
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const startMs = performance.now();
    const body = await readAll(req);
    const headers = headersOf(req.headers);
    const method = req.method ?? 'GET';
    const answer = await request(`${origin}${req.url ?? '/'}`, {
      method: method as 'GET',
      headers,
      ...(body.length ? { body } : {}),
    });
    const out = Buffer.from(await answer.body.arrayBuffer());
    res.writeHead(answer.statusCode, headersOf(answer.headers)).end(out);
    const path = req.url ?? '/';
    recorded.push({
      target,
      method,
      path,
      headers,
      body: body.toString('base64'),
      startMs,
      endMs: performance.now(),
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` });
    }),
  );
}

const median = (xs: number[]) => pct(xs, 0.5);

export async function tickFloor(
  svc: Services,
  n: number,
  o: { runs: number; log: (s: string) => void },
): Promise<TickFloor> {
  const watcher = new pg.Client({ connectionString: svc.db.url });
  await watcher.connect();
  const q = (sql: string) => watcher.query(sql);
  let file: string | undefined;
  try {
    await resetTables(svc);
    await seedStuck(svc, n, APPS);
    for (const t of TABLES) await q(`create table bench_floor_${t} as select * from public.${t}`);
    // The rows as they were before the tick, triggers off (the copies are the triggers' work
    // already); on this connection of its own, since a session setting would stay with a pool's.
    const restore = async () => {
      await q(`truncate ${TABLES.map((t) => `public.${t}`).join(', ')}`);
      await q('set session_replication_role = replica');
      for (const t of TABLES) await q(`insert into public.${t} select * from bench_floor_${t}`);
      await q('set session_replication_role = origin');
    };
    const recorded: Recorded[] = [];
    const gw = await recordingProxy('gateway', svc.twin.url, recorded);
    const fly = await recordingProxy('fly', svc.emulator.baseUrl, recorded);
    try {
      await runTickChild({
        ...svc,
        twin: { ...svc.twin, url: gw.url },
        emulator: { ...svc.emulator, baseUrl: fly.url, counters: svc.emulator.counters },
      } as Services);
    } finally {
      gw.server.close();
      fly.server.close();
    }
    // The child's warm-up call comes before its tick: only the tick's requests are replayed.
    const first = recorded.find((r) => /vyx_claim_provisionings|vyx_stuck_apps/.test(r.path))?.startMs ?? 0;
    const tick = recorded.filter((r) => r.startMs >= first).sort((a, b) => a.startMs - b.startMs);
    let inFlight = 0;
    let concurrency = 0;
    const edges = tick.flatMap((r) => [
      { t: r.startMs, d: 1 },
      { t: r.endMs, d: -1 },
    ]);
    for (const e of edges.sort((a, b) => a.t - b.t || a.d - b.d)) {
      inFlight += e.d;
      concurrency = Math.max(concurrency, inFlight);
    }
    file = join(tmpdir(), `vyx-tick-floor-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(tick));
    const bytes = tick.reduce((s, r) => s + Buffer.byteLength(r.body, 'base64'), 0);
    const runs: FloorRun[] = [];
    for (let i = 0; i < o.runs; i++) {
      for (const kind of ['replay', 'tick'] as const) {
        await restore();
        const pg0 = await postgresMs(watcher);
        const c0 = childrenMs();
        const self0 = process.cpuUsage();
        const wallMs =
          kind === 'tick' ? (await runTickChild(svc)).wallMs : await replay(file, svc, concurrency);
        const self = process.cpuUsage(self0);
        const written = await q('select count(*)::int as n from public.diagnoses');
        runs.push({
          kind,
          wall_ms: r1(wallMs),
          client_cpu_ms: childrenMs() - c0,
          services_cpu_ms: Math.round((self.user + self.system) / 1000),
          postgres_cpu_ms: (await postgresMs(watcher)) - pg0,
          diagnoses_written: Number(written.rows[0]?.n ?? 0),
        });
      }
    }
    const of = (kind: FloorRun['kind'], k: keyof FloorRun) =>
      median(runs.filter((r) => r.kind === kind).map((r) => Number(r[k])));
    const floor: TickFloor = {
      rows: n,
      requests: tick.length,
      body_mb: r1(bytes / 2 ** 20),
      concurrency,
      replay_wall_ms: of('replay', 'wall_ms'),
      tick_wall_ms: of('tick', 'wall_ms'),
      ratio_tick_over_floor: Math.round((of('tick', 'wall_ms') / of('replay', 'wall_ms')) * 100) / 100,
      replay_services_cpu_ms: of('replay', 'services_cpu_ms'),
      replay_postgres_cpu_ms: of('replay', 'postgres_cpu_ms'),
      runs,
    };
    o.log(
      `  tick floor r${n}: the services alone ${floor.replay_wall_ms} ms (${tick.length} requests, ${floor.body_mb} MB of bodies, ${concurrency} at once); a tick on the same data ${floor.tick_wall_ms} ms (${floor.ratio_tick_over_floor} × floor)`,
    );
    return floor;
  } finally {
    if (file) rmSync(file, { force: true });
    for (const t of TABLES) await q(`drop table if exists bench_floor_${t}`).catch(() => {});
    await watcher.end();
  }
}

function replay(file: string, svc: Services, concurrency: number): Promise<number> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...BOT_NODE_FLAGS, REPLAYER, file, svc.twin.url, svc.emulator.baseUrl, String(concurrency)],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`tick floor replay: ${err.message}\n${stderr}`));
        if (stderr.trim()) return reject(new Error(`tick floor replay: some answers failed\n${stderr}`));
        resolve((JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { wallMs: number }).wallMs);
      },
    ),
  );
}
