import type { RuntimeStore } from '../../../runtime/machine-runtime.ts';
import type { RuntimeLog } from '../../../runtime/runtime-log.ts';
import type { MachineStatus } from '../../../src/contract/machine-status.ts';
import { VyxError } from '../../../src/errors/vyx-error.ts';
import type { CloudMachine } from '../../../src/store/store-schemas.ts';

export const unavailable = () =>
  new VyxError('STORE_UNAVAILABLE', 'the database could not be reached (vyx_report_status): fetch failed', {
    suggestion: 'Check SUPABASE_URL.',
    details: { httpStatus: 0 },
  });
export const serverError = (httpStatus = 500) =>
  new VyxError('STORE_FAILED', 'the database failed (vyx_report_status): boom', {
    suggestion: 'Try again.',
    details: { httpStatus },
  });
export const notFound = (id: string) =>
  new VyxError('STORE_NOT_FOUND', `no cloud_machines row has machine_id '${id}'`, {
    suggestion: 'Check the MACHINE_ID.',
    details: { httpStatus: 400, sqlstate: 'P0001' },
  });
export const conflict = (id: string) =>
  new VyxError('STORE_CONFLICT', `machine ${id} is destroyed; status running was not recorded`, {
    suggestion: 'Start a new machine.',
    details: { httpStatus: 409 },
  });

export function fakeRow(machineId: string, status: string, flyMachineId: string | null = null): CloudMachine {
  const now = new Date().toISOString();
  return {
    machine_id: machineId,
    user_id: 'user-1',
    status,
    updated_at: now,
    created_at: now,
    status_changed_at: now,
    status_detail: null,
    fly_app: 'vyx-app',
    fly_machine_id: flyMachineId,
    region: 'ams',
    image: null,
    last_heartbeat_at: now,
    slack_team_id: null,
    slack_channel: null,
    slack_thread_ts: null,
    requested_by: null,
    diagnosis: null,
    flagged_at: null,
    lease_owner: null,
    lease_until: null,
  };
}

export type StoreCall =
  | { fn: 'reportStatus'; machineId: string; status: MachineStatus; detail?: string; flyMachineId?: string }
  | { fn: 'heartbeat'; machineId: string }
  | { fn: 'recordWarning'; machineId: string; code: string; detail: Record<string, unknown> }
  | { fn: 'findMachine'; by: { machineId?: string; flyMachineId?: string } };

/**
 * A store that records every call (attempts included) and answers from a script: `failNext` makes
 * the next calls throw, in order; `hold()` parks calls until released. Rows live in memory.
 */
export class FakeStore implements RuntimeStore {
  readonly calls: StoreCall[] = [];
  /** Calls that succeeded, in order. */
  readonly delivered: StoreCall[] = [];
  readonly rows = new Map<string, CloudMachine>();
  private failures: Error[] = [];
  private alwaysFail: (() => Error) | undefined;
  private held: (() => void)[] | undefined;

  failNext(...errors: Error[]): void {
    this.failures.push(...errors);
  }

  /** Every call fails with a fresh `make()` until failAlways(undefined). */
  failAlways(make: (() => Error) | undefined): void {
    this.alwaysFail = make;
  }

  /** Parks every call until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const go of held) go();
  }

  private async answer<T>(call: StoreCall, ok: () => T): Promise<T> {
    this.calls.push(call);
    if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
    const failure = this.failures.shift() ?? this.alwaysFail?.();
    if (failure) throw failure;
    const result = ok();
    this.delivered.push(call);
    return result;
  }

  reportStatus(
    machineId: string,
    status: MachineStatus,
    detail?: string,
    flyMachineId?: string,
  ): Promise<CloudMachine> {
    const call: StoreCall = {
      fn: 'reportStatus',
      machineId,
      status,
      ...(detail === undefined ? {} : { detail }),
      ...(flyMachineId === undefined ? {} : { flyMachineId }),
    };
    return this.answer(call, () => {
      const row = this.rows.get(machineId);
      if (!row) throw notFound(machineId);
      const next = {
        ...row,
        status,
        status_detail: detail ?? null,
        fly_machine_id: row.fly_machine_id ?? flyMachineId ?? null,
      };
      this.rows.set(machineId, next);
      return next;
    });
  }

  heartbeat(machineId: string): Promise<string> {
    return this.answer({ fn: 'heartbeat', machineId }, () => {
      if (!this.rows.has(machineId)) throw notFound(machineId);
      return new Date().toISOString();
    });
  }

  recordWarning(machineId: string, code: string, detail: Record<string, unknown>): Promise<number> {
    return this.answer({ fn: 'recordWarning', machineId, code, detail }, () => {
      if (!this.rows.has(machineId)) throw notFound(machineId);
      return this.delivered.length;
    });
  }

  findMachine(by: { machineId?: string; flyMachineId?: string }): Promise<CloudMachine | null> {
    return this.answer({ fn: 'findMachine', by }, () => {
      for (const row of this.rows.values()) {
        if (by.machineId !== undefined && row.machine_id !== by.machineId) continue;
        if (by.flyMachineId !== undefined && row.fly_machine_id !== by.flyMachineId) continue;
        return row;
      }
      return null;
    });
  }
}

/** A sleep that returns at once (after a macrotask, so the code under test interleaves) and remembers each delay. */
export function fakeSleep(): { sleep(ms: number): Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep(ms: number) {
      delays.push(ms);
      return new Promise((resolve) => setImmediate(resolve));
    },
  };
}

export interface LogRecord {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug';
  msg: string;
  fields: Record<string, unknown>;
}

export function recordingLog(): RuntimeLog & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: LogRecord['level']) => (fields: Record<string, unknown>, msg: string) => {
    records.push({ level, msg, fields });
  };
  return {
    records,
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  };
}
