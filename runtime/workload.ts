import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface WorkloadExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The shell could not be started at all. */
  spawnError?: string;
}

export interface Workload {
  readonly pid: number | undefined;
  readonly exited: Promise<WorkloadExit>;
  isAlive(): boolean;
  /** Signals the workload's whole process group (the shell and everything it started, even after the shell exited). */
  signal(signal: NodeJS.Signals): void;
}

export interface StartWorkloadOptions {
  /** Run with `/bin/sh -c`. */
  command: string;
  env: NodeJS.ProcessEnv;
  /** Each line the workload writes. */
  onOutput(stream: 'stdout' | 'stderr', line: string): void;
  shell?: string;
}

export function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

/** What the workload's end was, in words (no output, no environment: nothing secret). */
export function describeWorkloadExit(exit: WorkloadExit): string {
  if (exit.spawnError !== undefined) return `workload could not start: ${exit.spawnError}`;
  if (exit.signal) return `workload was killed by ${exit.signal} (signal ${signalNumber(exit.signal)})`;
  return `workload exited with code ${exit.code ?? 'unknown'}`;
}

/**
 * Starts the workload as a supervised child in its own process group, so a stop reaches everything
 * it started. Its output is handed over line by line (the runtime scrubs and forwards it).
 */
export function startWorkload(options: StartWorkloadOptions): Workload {
  const child = spawn(options.shell ?? '/bin/sh', ['-c', options.command], {
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let alive = true;
  const pid = child.pid;
  const lines = (stream: 'stdout' | 'stderr') => {
    let buffered = '';
    return {
      data(chunk: Buffer) {
        buffered += chunk.toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          options.onOutput(stream, buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
        }
      },
      end() {
        if (buffered !== '') options.onOutput(stream, buffered);
        buffered = '';
      },
    };
  };
  const out = lines('stdout');
  const err = lines('stderr');
  child.stdout?.on('data', out.data);
  child.stderr?.on('data', err.data);
  const exited = new Promise<WorkloadExit>((resolve) => {
    child.once('error', (error) => {
      if (pid === undefined) {
        alive = false;
        resolve({ code: null, signal: null, spawnError: error.message });
      }
    });
    // 'close' comes once the output is drained, so no line is lost; but a background process the
    // workload left behind may hold the pipes open, so do not wait for it long after 'exit'.
    let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (!status) return;
      alive = false;
      out.end();
      err.end();
      resolve(status);
    };
    child.once('exit', (code, signal) => {
      alive = false;
      status = { code, signal };
      setTimeout(finish, 500).unref();
    });
    child.once('close', (code, signal) => {
      status ??= { code, signal };
      finish();
    });
  });
  return {
    pid,
    exited,
    isAlive: () => alive,
    signal(signal) {
      if (pid === undefined) return;
      try {
        // The group outlives the shell when it left background processes behind.
        process.kill(-pid, signal);
      } catch {
        // the group is gone
      }
    },
  };
}
