import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// npm's `deno` ships the binary in its platform package; its bin shim is the fallback elsewhere.
const PLATFORM_DENO = path.join(ROOT, 'node_modules/@deno/linux-x64-glibc/deno');
const DENO = existsSync(PLATFORM_DENO) ? PLATFORM_DENO : path.join(ROOT, 'node_modules/.bin/deno');
const CONFIG = path.join(ROOT, 'supabase/functions/provision-machine/deno.json');

export interface DenoRun {
  code: number | null;
  output: string;
}

/** Deno compiles and type-checks from a cold cache: generous bounds on a loaded machine. */
export const DENO_TEST_TIMEOUT_MS = 300_000;

/**
 * Runs the pinned Deno (npm `deno`) offline, from the repository root: its cache in a fresh
 * temporary directory, no update check, npm packages (zod) from this repository's node_modules
 * (`--node-modules-dir=manual`: the flag, not deno.json, because Supabase's bundler has no
 * node_modules) and a dead npm registry, so nothing is ever downloaded.
 */
export function runDeno(
  command: 'check' | 'test',
  args: string[],
  env: Record<string, string> = {},
): Promise<DenoRun> {
  const denoDir = mkdtempSync(path.join(tmpdir(), 'vyx-deno-'));
  return new Promise<DenoRun>((resolve, reject) => {
    const child = spawn(DENO, [command, '--node-modules-dir=manual', '--config', CONFIG, ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: denoDir,
        DENO_DIR: denoDir,
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
        NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  }).finally(() => rmSync(denoDir, { recursive: true, force: true }));
}

/**
 * `deno test` of one file of test/edge-function/, loopback only, with the setup in VYX_EDGE_TEST.
 * Types are checked once by `runDeno('check', …)` in edge-function.test.ts, not again here.
 */
export function runDenoTest(file: string, setup: unknown): Promise<DenoRun> {
  return runDeno(
    'test',
    [
      '--no-check',
      '--no-prompt',
      '--allow-net=127.0.0.1',
      '--allow-env=VYX_EDGE_TEST',
      `--allow-read=${ROOT}`,
      `test/edge-function/${file}`,
    ],
    { VYX_EDGE_TEST: JSON.stringify(setup) },
  );
}
