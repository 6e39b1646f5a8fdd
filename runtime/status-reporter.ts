import type { MachineStatus } from '../src/contract/machine-status.ts';
import type { CloudMachine } from '../src/store/store-schemas.ts';
import { errorText, type RuntimeLog } from './runtime-log.ts';
import { callWithRetries, DEFAULT_RETRY_POLICY, type RetryPolicy, StoreCallFailure } from './store-retry.ts';

/** The store calls the reporter makes (VyxStore satisfies it). */
export interface ReporterStore {
  reportStatus(
    machineId: string,
    status: MachineStatus,
    detail?: string,
    flyMachineId?: string,
  ): Promise<CloudMachine>;
  heartbeat(machineId: string): Promise<unknown>;
  recordWarning(machineId: string, code: string, detail: Record<string, unknown>): Promise<unknown>;
}

export type ReportOp =
  | { kind: 'status'; status: MachineStatus; detail?: string }
  | { kind: 'heartbeat' }
  | { kind: 'warning'; code: string; detail: Record<string, unknown> };

export interface StatusReporterOptions {
  store: ReporterStore;
  machineId: string;
  /** This machine's FLY_MACHINE_ID, sent with every status report (the row learns its machine). */
  flyMachineId?: string;
  sleep(ms: number): Promise<void>;
  random(): number;
  log: RuntimeLog;
  policy?: RetryPolicy;
  /** Called once when a report cannot be delivered (not-found after retries, refused, …). */
  onFatal?(failure: StoreCallFailure): void;
}

interface QueueItem {
  seq: number;
  op: ReportOp;
  inFlight: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  promise: Promise<unknown>;
}

/** Marks a promise handled (callers may ignore it; failures reach onFatal) and returns it unchanged. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

const describeOp = (op: ReportOp): string =>
  op.kind === 'status' ? `status ${op.status}` : op.kind === 'warning' ? `warning ${op.code}` : 'heartbeat';

/**
 * Delivers the runtime's reports to the store one at a time, in the order they were made. A
 * transient failure (network, 5xx, database down) holds the queue and is retried with backoff
 * and jitter, forever if need be, so nothing is dropped and nothing overtakes. A heartbeat made
 * while another heartbeat is still waiting is folded into it (status reports never are). A report
 * that cannot succeed (no row after bounded retries, refused) stops the reporter: every queued
 * report is rejected with that failure and `onFatal` is called.
 */
export class StatusReporter {
  private readonly options: StatusReporterOptions;
  private readonly queue: QueueItem[] = [];
  private seq = 0;
  private pumping = false;
  private fatal: StoreCallFailure | undefined;
  private idleWaiters: { resolve(): void; reject(err: unknown): void }[] = [];

  constructor(options: StatusReporterOptions) {
    this.options = options;
  }

  get machineId(): string {
    return this.options.machineId;
  }

  /** The failure that stopped the reporter, if one did. */
  get failure(): StoreCallFailure | undefined {
    return this.fatal;
  }

  /** Reports waiting or in flight. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues a status report; resolves with the row once recorded. */
  report(status: MachineStatus, detail?: string): Promise<CloudMachine> {
    const op: ReportOp =
      detail === undefined ? { kind: 'status', status } : { kind: 'status', status, detail };
    return this.enqueue(op) as Promise<CloudMachine>;
  }

  /** Queues a warning event. */
  warn(code: string, detail: Record<string, unknown>): Promise<void> {
    return quiet(this.enqueue({ kind: 'warning', code, detail }).then(() => undefined));
  }

  /** Queues a heartbeat, unless one is already waiting (then that one stands for both). */
  heartbeat(): Promise<void> {
    const waiting = this.queue.find((item) => item.op.kind === 'heartbeat' && !item.inFlight);
    return quiet((waiting ? waiting.promise : this.enqueue({ kind: 'heartbeat' })).then(() => undefined));
  }

  /** Resolves when every queued report is recorded; rejects with the failure if the reporter stopped. */
  whenIdle(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  private enqueue(op: ReportOp): Promise<unknown> {
    if (this.fatal) return quiet(Promise.reject(this.fatal));
    let resolve: (value: unknown) => void = () => {};
    let reject: (err: unknown) => void = () => {};
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    quiet(promise);
    const item: QueueItem = { seq: ++this.seq, op, inFlight: false, resolve, reject, promise };
    this.queue.push(item);
    this.options.log.debug({ seq: item.seq, op: describeOp(op), queued: this.queue.length }, 'report queued');
    void this.pump();
    return promise;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue[0]; item !== undefined && !this.fatal; item = this.queue[0]) {
        item.inFlight = true;
        try {
          const result = await this.deliver(item);
          this.queue.shift();
          item.resolve(result);
        } catch (err) {
          this.stop(
            err instanceof StoreCallFailure
              ? err
              : new StoreCallFailure(
                  `${describeOp(item.op)} for machine ${this.machineId}`,
                  'internal',
                  1,
                  err,
                ),
          );
        }
      }
    } finally {
      this.pumping = false;
    }
    if (!this.fatal && this.queue.length === 0) {
      for (const waiter of this.idleWaiters.splice(0)) waiter.resolve();
    }
  }

  private async deliver(item: QueueItem): Promise<unknown> {
    const { store, machineId, log } = this.options;
    const { op, seq } = item;
    let attempts = 0;
    const result = await callWithRetries(
      `${describeOp(op)} for machine ${machineId}`,
      () => {
        attempts++;
        switch (op.kind) {
          case 'status':
            return store.reportStatus(machineId, op.status, op.detail, this.options.flyMachineId);
          case 'heartbeat':
            return store.heartbeat(machineId);
          case 'warning':
            return store.recordWarning(machineId, op.code, op.detail);
        }
      },
      {
        sleep: this.options.sleep,
        random: this.options.random,
        policy: this.options.policy ?? DEFAULT_RETRY_POLICY,
        onRetry: ({ kind, attempt, delayMs, error }) =>
          log.warn(
            {
              seq,
              op: describeOp(op),
              machineId,
              attempt,
              retryInMs: delayMs,
              failure: kind,
              error: errorText(error),
            },
            kind === 'transient'
              ? `the store is unreachable; ${describeOp(op)} stays queued and is retried in ${delayMs} ms`
              : `the store answered ${kind} for machine ${machineId}; retrying ${describeOp(op)} in ${delayMs} ms`,
          ),
      },
    );
    const fields = { seq, op: describeOp(op), machineId, attempts };
    if (op.kind === 'status')
      log.info({ ...fields, status: op.status, detail: op.detail }, `reported ${op.status}`);
    else if (op.kind === 'warning') log.info({ ...fields, code: op.code }, `recorded warning ${op.code}`);
    else log.debug(fields, 'heartbeat recorded');
    return result;
  }

  private stop(failure: StoreCallFailure): void {
    if (this.fatal) return;
    this.fatal = failure;
    for (const item of this.queue.splice(0)) item.reject(failure);
    for (const waiter of this.idleWaiters.splice(0)) waiter.reject(failure);
    this.options.onFatal?.(failure);
  }
}
