import { type ChildProcess, spawn } from 'node:child_process';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface MainProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Exit code and how long after the spawn it came. */
  exited: Promise<{ code: number | null; ms: number }>;
  /** Resolves with the match once `pattern` appears on stdout or stderr; rejects after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  kill(): void;
}

/** `node <script>` (default the bot's src/main.ts) as a person or a supervisor starts it: this env only. */
export function runMain(env: Record<string, string>, script = 'src/main.ts'): MainProcess {
  const t0 = Date.now();
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d) => {
    out += String(d);
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (d) => {
    err += String(d);
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, ms: Date.now() - t0 })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out) ?? pattern.exec(err);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Lines of a process's output that are not JSON log lines (what a person reads). */
export function plainLines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
}

/** A stack trace or a raw crash anywhere in the text. */
export const STACK = /^\s+at |sonic boom|Error: listen|uncaught|Unhandled/im;
