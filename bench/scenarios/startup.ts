// startup: `npm start` on this installed checkout, from the spawn to the "vyxbot ready" line (the
// prompt follows it), with stdin empty as `printf '' | npm start` (the shell then ends and the
// process exits). Cold: an empty VYX_DATA_DIR (PGlite created, every migration applied, keys made);
// warm: the second start over the same directory. Every service is a twin (no credentials in the
// environment), every port picked free, so nothing here collides with the bench's own services.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pct, r1 } from '../lib.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Variables that would point `npm start` at a real service instead of its twins. */
const SERVICE_VARS = /^(SLACK_|SUPABASE_|FLY_|DATABASE_URL$|VYX_|PORT$|HOST$|GEMINI_)/;

export interface StartRun {
  /** Spawn → "vyxbot ready" on stdout. */
  ready_ms: number;
  /** Spawn → "vyxbot starting" (npm, Node and the imports of src/main.ts). */
  first_line_ms: number;
  /** What the bot itself reports ("ready in N ms": from its first line to ready). */
  reported_ms: number;
  exit_code: number | null;
}

export interface StartupResult {
  command: string;
  runs: number;
  /** Medians over `runs`. */
  cold_ms: number;
  warm_ms: number;
  cold: StartRun[];
  warm: StartRun[];
}

/** One `npm start` over `dataDir` until it is ready, then until it exits (stdin is empty). */
async function startOnce(dataDir: string, timeoutMs: number): Promise<StartRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SERVICE_VARS.test(k)) env[k] = v;
  Object.assign(env, {
    VYX_DATA_DIR: dataDir,
    PORT: '0',
    SUPABASE_LOCAL_PORT: '0',
    FLY_LOCAL_PORT: '0',
  });
  const t0 = performance.now();
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin.end();
  let out = '';
  let err = '';
  let firstLine = Number.NaN;
  let ready = Number.NaN;
  let reported = Number.NaN;
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timer = setTimeout(() => {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  child.stdout.on('data', (d: Buffer) => {
    const now = performance.now() - t0;
    out += d.toString();
    if (Number.isNaN(firstLine) && out.includes('vyxbot starting')) firstLine = now;
    const m = /vyxbot ready in (\d+) ms/.exec(out);
    if (m && Number.isNaN(ready)) {
      ready = now;
      reported = Number(m[1]);
    }
  });
  const code = await exited;
  clearTimeout(timer);
  if (Number.isNaN(ready)) {
    throw new Error(
      `bench: npm start never said ready (exit ${code}):\n${out.slice(-2000)}\n${err.slice(-2000)}`,
    );
  }
  return { ready_ms: r1(ready), first_line_ms: r1(firstLine), reported_ms: reported, exit_code: code };
}

export async function startupScenario(o: { runs: number; log: (s: string) => void }): Promise<StartupResult> {
  const cold: StartRun[] = [];
  const warm: StartRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'vyx-bench-startup-'));
    try {
      const c = await startOnce(dir, 120_000);
      const w = await startOnce(dir, 120_000);
      cold.push(c);
      warm.push(w);
      o.log(
        `  startup ${i + 1}/${o.runs}: cold ${c.ready_ms} ms (first line ${c.first_line_ms}), warm ${w.ready_ms} ms (first line ${w.first_line_ms})`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const median = (xs: StartRun[]) =>
    r1(
      pct(
        xs.map((x) => x.ready_ms),
        0.5,
      ),
    );
  return {
    command: "printf '' | npm start",
    runs: o.runs,
    cold_ms: median(cold),
    warm_ms: median(warm),
    cold,
    warm,
  };
}
