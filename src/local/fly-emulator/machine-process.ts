/**
 * A machine's process: a real child process in its own process group, with exactly the
 * environment it is given (a Fly machine does not inherit the host's environment).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process never started (e.g. the command does not exist). */
  spawnError?: string;
}

export interface MachineProcess {
  readonly pid: number | undefined;
  /** Resolves once the process has started (or failed to). */
  readonly started: Promise<boolean>;
  readonly exited: Promise<ProcessExit>;
  isAlive(): boolean;
  /** Signals the whole process group (the process and anything it started). */
  kill(signal: NodeJS.Signals): void;
}

export interface SpawnMachineOptions {
  command: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Each line of stdout/stderr. */
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export function signalNumber(signal: NodeJS.Signals | null): number {
  if (!signal) return -1;
  return (constants.signals as Record<string, number>)[signal] ?? -1;
}

export function spawnMachineProcess(options: SpawnMachineOptions): MachineProcess {
  const [file, ...args] = options.command;
  let alive = false;
  let resolveStarted: (value: boolean) => void = () => {};
  const started = new Promise<boolean>((resolve) => {
    resolveStarted = resolve;
  });
  let resolveExited: (exit: ProcessExit) => void = () => {};
  const exited = new Promise<ProcessExit>((resolve) => {
    resolveExited = resolve;
  });
  if (file === undefined) {
    resolveStarted(false);
    resolveExited({ code: 127, signal: null, spawnError: 'empty command' });
    return { pid: undefined, started, exited, isAlive: () => false, kill: () => {} };
  }
  const child = spawn(file, args, {
    env: options.env,
    cwd: options.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  const lines = (stream: 'stdout' | 'stderr') => {
    let buffered = '';
    return (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        options.onOutput?.(stream, buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    };
  };
  child.stdout?.on('data', lines('stdout'));
  child.stderr?.on('data', lines('stderr'));
  child.once('spawn', () => {
    alive = true;
    resolveStarted(true);
  });
  child.once('error', (error) => {
    if (!alive) {
      resolveStarted(false);
      resolveExited({ code: 127, signal: null, spawnError: error.message });
    }
  });
  child.once('exit', (code, signal) => {
    alive = false;
    resolveExited({ code, signal });
  });
  return {
    pid,
    started,
    exited,
    isAlive: () => alive,
    kill(signal) {
      if (pid === undefined) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is gone
      }
    },
  };
}
