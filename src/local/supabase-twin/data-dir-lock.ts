import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { VyxError } from '../../errors/vyx-error.ts';

export interface DataDirLock {
  release(): void;
}

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A pid lock file beside an embedded database. PGlite lets two processes open one directory and
 * then silently loses writes, so the second process must fail fast instead. A lock left by a dead
 * process is taken over.
 */
export function acquireDataDirLock(lockPath: string, what: string): DataDirLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder) && holder !== process.pid) {
        throw new VyxError('LOCAL_DB_LOCKED', `${what} is already open in process ${holder}`, {
          suggestion: `Stop that process (kill ${holder}) or give this one its own directory with VYX_DATA_DIR.`,
          details: { lockPath, pid: holder },
        });
      }
      // Stale: its process is gone. Remove and try once more.
      rmSync(lockPath, { force: true });
    }
  }
  throw new VyxError('LOCAL_DB_LOCKED', `could not take the lock ${lockPath}`, {
    suggestion: 'Remove the lock file if no vyxbot process is running, then start again.',
    details: { lockPath },
  });
}
