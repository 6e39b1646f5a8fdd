import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { UntilOptions } from '../../../testkit/until.ts';

export const RUNTIME_MAIN = fileURLToPath(new URL('../../../runtime/main.ts', import.meta.url));

export interface RuntimeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RuntimeRun {
  readonly child: ChildProcess;
  readonly exited: Promise<RuntimeExit>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Output lines that are JSON log records. */
  records(): Record<string, unknown>[];
  hasExited(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** Waits for the exit, failing with the output after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<RuntimeExit>;
}

/** Every run started by this module (for the secret scan). */
export const allRuns: RuntimeRun[] = [];

/**
 * Starts `node runtime/main.ts` as a real process with exactly `env` (plus PATH), as a Fly machine
 * gets it: nothing inherited from the test's environment.
 */
export function spawnRuntime(env: Record<string, string | undefined>): RuntimeRun {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const child = spawn(process.execPath, [RUNTIME_MAIN], { env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let done = false;
  child.stdout?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  const exited = new Promise<RuntimeExit>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const run: RuntimeRun = {
    child,
    exited,
    output: () => text,
    records: () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    hasExited: () => done,
    signal: (signal) => {
      if (!done) child.kill(signal);
    },
    async waitForExit(timeoutMs = 20_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the runtime did not exit within ${timeoutMs} ms; output:\n${text}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  allRuns.push(run);
  return run;
}

/**
 * How a test waits (testkit's `until`) on what a runtime run does: a check that throws is "not yet"
 * (some tests take the store down on purpose), and a wait that fails shows the run's output.
 */
export function watching(run: RuntimeRun, ms = 20_000): UntilOptions {
  return { ms, everyMs: 100, retryErrors: true, context: () => `runtime output:\n${run.output()}` };
}

/** Distinctive fake secrets, passed to every run so the output can be scanned for them. */
export const FAKE_SECRETS = {
  GEMINI_API_KEY: `gemini-${randomBytes(12).toString('hex')}`,
  FLY_API_TOKEN: `fo1_${randomBytes(12).toString('hex')}`,
  STRIPE_SECRET: `sk_live_${randomBytes(12).toString('hex')}`,
  DB_PASSWORD: `pw-${randomBytes(12).toString('hex')}`,
};

export const flyMachineId = () => randomBytes(7).toString('hex');

let seq = 0;
export const uniqueUser = () => `user-${Date.now().toString(36)}-${process.pid}-${seq++}`;
