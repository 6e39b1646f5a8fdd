import { MACHINE_EXIT_CODES as EXIT_CODES, signalExitCode } from '../src/contract/machine-exit-codes.ts';
import { VyxError } from '../src/errors/vyx-error.ts';
import type { CloudMachine } from '../src/store/store-schemas.ts';
import { loadRuntimeConfig, type RuntimeConfig } from './runtime-config.ts';
import { errorText, type RuntimeLog } from './runtime-log.ts';
import { type ReporterStore, StatusReporter } from './status-reporter.ts';
import { callWithRetries, DEFAULT_RETRY_POLICY, type RetryPolicy, StoreCallFailure } from './store-retry.ts';
import { describeWorkloadExit, signalNumber, type Workload, type WorkloadExit } from './workload.ts';

/** The store calls the runtime makes (VyxStore satisfies it). */
export interface RuntimeStore extends ReporterStore {
  findMachine(by: { machineId?: string; flyMachineId?: string }): Promise<CloudMachine | null>;
}

export type StopSignal = 'SIGTERM' | 'SIGINT';

export interface MachineRuntimeDeps {
  env: Readonly<Record<string, string | undefined>>;
  log: RuntimeLog;
  /** `apiKey` goes as `apikey`; `accessToken`, when set, as the bearer (the machine's own JWT). */
  createStore(options: { url: string; apiKey: string; accessToken?: string }): RuntimeStore;
  /** Starts VYX_WORKLOAD_CMD (see workload.ts). */
  startWorkload(command: string): Workload;
  sleep(ms: number): Promise<void>;
  random(): number;
  /** Calls `fn` every `ms`; returns a cancel function. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` once after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
  /** Registers the handler for SIGTERM/SIGINT. */
  onStopSignal(handler: (signal: StopSignal) => void): void;
  policy?: RetryPolicy;
}

export interface MachineRuntime {
  /** Runs until the machine should exit; resolves with the exit code. */
  run(): Promise<number>;
  /** Kills what is left of the workload (for the process's exit path). */
  killWorkload(): void;
}

/** Time kept back from the stop timeout, so the runtime exits before Fly's SIGKILL. */
const STOP_MARGIN_MS = 500;
/** Time kept for the `stopped` report after the workload is down. */
const REPORT_BUDGET_MS = 1_000;

type StopReason =
  | { kind: 'signal'; signal: StopSignal }
  | { kind: 'workload'; exit: WorkloadExit }
  | { kind: 'fatal'; failure: StoreCallFailure };

/**
 * The agent inside each machine: checks its environment against the contract, finds its row,
 * reports `running`, heartbeats, supervises the workload, and reports how it ended (`stopped` on
 * SIGTERM/SIGINT within the stop timeout, `failed`/`stopped` when the workload exits). Every store
 * call goes through the ordered StatusReporter. Exit codes: src/contract/machine-exit-codes.ts.
 */
export function createMachineRuntime(deps: MachineRuntimeDeps): MachineRuntime {
  const { log } = deps;
  const policy = deps.policy ?? DEFAULT_RETRY_POLICY;
  let workload: Workload | undefined;
  let reporter: StatusReporter | undefined;
  let stopping = false;
  let signalled = false;
  let cancelHeartbeat: (() => void) | undefined;
  let finish: (code: number) => void = () => {};
  let finished = false;
  const done = new Promise<number>((resolve) => {
    finish = (code) => {
      if (finished) return;
      finished = true;
      cancelHeartbeat?.();
      resolve(code);
    };
  });

  /** Stops the workload: the given signal first, SIGKILL if it is still there after `graceMs`. */
  async function stopWorkload(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const w = workload;
    if (!w?.isAlive()) return;
    log.info({ workloadPid: w.pid, signal, graceMs }, `stopping the workload with ${signal}`);
    w.signal(signal);
    let cancel: () => void = () => {};
    const timedOut = new Promise<'timeout'>((resolve) => {
      cancel = deps.after(graceMs, () => resolve('timeout'));
    });
    const outcome = await Promise.race([w.exited, timedOut]);
    cancel();
    if (outcome === 'timeout') {
      log.warn({ workloadPid: w.pid, graceMs }, `the workload did not stop within ${graceMs} ms: SIGKILL`);
      w.signal('SIGKILL');
      await w.exited;
    }
  }

  async function stop(reason: StopReason, config: RuntimeConfig): Promise<void> {
    if (reason.kind === 'signal') {
      if (signalled) return;
      signalled = true;
      // From the first stop signal on, the runtime keeps Fly's stop timeout whatever it is doing.
      const deadlineMs = Math.max(REPORT_BUDGET_MS, config.stopTimeoutMs - STOP_MARGIN_MS);
      deps.after(deadlineMs, () => {
        log.error(
          { machineId: reporter?.machineId, deadlineMs, queued: reporter?.pending },
          `could not record the machine's final status within the ${deadlineMs} ms stop deadline; exiting`,
        );
        workload?.signal('SIGKILL');
        finish(EXIT_CODES.stopUnrecorded);
      });
    }
    if (stopping) return;
    stopping = true;
    cancelHeartbeat?.();

    if (reason.kind === 'fatal') {
      const { failure } = reason;
      log.fatal(
        { machineId: reporter?.machineId, failure: failure.kind, exitCode: failure.exitCode },
        `${failure.message} (exiting with code ${failure.exitCode})`,
      );
      await stopWorkload('SIGTERM', Math.max(REPORT_BUDGET_MS, config.stopTimeoutMs - STOP_MARGIN_MS));
      finish(failure.exitCode);
      return;
    }

    let status: 'stopped' | 'failed';
    let detail: string;
    let code: number;
    if (reason.kind === 'signal') {
      log.info(
        { signal: reason.signal, machineId: reporter?.machineId },
        `received ${reason.signal}: stopping`,
      );
      const graceMs = Math.max(0, config.stopTimeoutMs - STOP_MARGIN_MS - REPORT_BUDGET_MS);
      await stopWorkload(reason.signal, Math.max(500, graceMs));
      status = 'stopped';
      detail = `stopped by ${reason.signal}`;
      code = EXIT_CODES.ok;
    } else {
      const { exit } = reason;
      detail = describeWorkloadExit(exit);
      if (exit.code === 0) {
        status = 'stopped';
        code = EXIT_CODES.ok;
      } else {
        status = 'failed';
        code = exit.signal ? signalExitCode(signalNumber(exit.signal)) : (exit.code ?? EXIT_CODES.internal);
        if (exit.spawnError !== undefined) code = 127;
      }
      log[status === 'failed' ? 'error' : 'info']({ machineId: reporter?.machineId, exitCode: code }, detail);
    }

    if (!reporter) {
      log.error(
        { flyMachineId: config.flyMachineId },
        `the machine's row is not known yet: ${status} was not recorded`,
      );
      finish(reason.kind === 'signal' ? EXIT_CODES.stopUnrecorded : code);
      return;
    }
    try {
      await reporter.report(status, detail);
      await reporter.whenIdle();
      finish(code);
    } catch (err) {
      const exitCode = err instanceof StoreCallFailure ? err.exitCode : EXIT_CODES.internal;
      log.fatal({ machineId: reporter.machineId, exitCode }, `${status} was not recorded: ${errorText(err)}`);
      finish(exitCode);
    }
  }

  /** The row's id: MACHINE_ID, or (without it) the one row whose fly_machine_id is FLY_MACHINE_ID. */
  async function resolveMachineId(config: RuntimeConfig, store: RuntimeStore): Promise<string> {
    if (config.machineId !== undefined) return config.machineId;
    const flyMachineId = config.flyMachineId!;
    log.warn(
      { flyMachineId, machineIdAlias: config.machineIdAlias },
      `MACHINE_ID is not set: looking up the row by FLY_MACHINE_ID ${flyMachineId}`,
    );
    const what = `finding the cloud_machines row with fly_machine_id ${flyMachineId} (MACHINE_ID is not set)`;
    const row = await callWithRetries(
      what,
      async () => {
        const found = await store.findMachine({ flyMachineId });
        if (found) return found;
        throw new VyxError('STORE_NOT_FOUND', `no cloud_machines row has fly_machine_id ${flyMachineId}`, {
          suggestion: 'Start the machine with MACHINE_ID set to its cloud_machines.machine_id.',
          details: { flyMachineId },
        });
      },
      {
        sleep: deps.sleep,
        random: deps.random,
        policy,
        onRetry: ({ kind, attempt, delayMs, error }) =>
          log.warn(
            { flyMachineId, attempt, retryInMs: delayMs, failure: kind, error: errorText(error) },
            `could not find the row by FLY_MACHINE_ID ${flyMachineId} yet; retrying in ${delayMs} ms`,
          ),
      },
    );
    return row.machine_id;
  }

  async function run(): Promise<number> {
    const loaded = loadRuntimeConfig(deps.env);
    if (!loaded.ok) {
      log.fatal(
        {
          exitCode: EXIT_CODES.config,
          problems: loaded.problems.map((p) =>
            p.kind === 'missing'
              ? { name: p.name, kind: p.kind, aliasFound: p.aliasFound }
              : { name: p.name, kind: p.kind },
          ),
        },
        `invalid environment: ${loaded.message}`,
      );
      return EXIT_CODES.config;
    }
    const { config } = loaded;
    for (const notice of loaded.notices) log.warn({}, notice);
    deps.onStopSignal((signal) => void stop({ kind: 'signal', signal }, config));
    log.info(
      {
        machineId: config.machineId,
        flyMachineId: config.flyMachineId,
        flyApp: config.flyAppName,
        userId: config.userId,
        heartbeatIntervalS: config.heartbeatIntervalMs / 1000,
        stopTimeoutS: config.stopTimeoutMs / 1000,
        workload: config.workloadCmd !== undefined,
        cpuPriority: config.cpuPriority,
      },
      'vyx runtime starting',
    );

    // Boot goes on by itself; the exit code comes from whichever way the machine ends (a stop
    // signal can end it while the row is still being looked up in a store that is down).
    boot(config).catch((err: unknown) => {
      log.fatal({ error: errorText(err), exitCode: EXIT_CODES.internal }, 'vyx runtime failed to boot');
      finish(EXIT_CODES.internal);
    });
    return done;
  }

  async function boot(config: RuntimeConfig): Promise<void> {
    const store = deps.createStore({
      url: config.supabaseUrl,
      apiKey: config.apiKey,
      ...(config.accessToken !== undefined ? { accessToken: config.accessToken } : {}),
    });
    let machineId: string;
    try {
      machineId = await resolveMachineId(config, store);
    } catch (err) {
      const failure =
        err instanceof StoreCallFailure
          ? err
          : new StoreCallFailure('finding the machine row', 'internal', 1, err);
      if (!stopping) void stop({ kind: 'fatal', failure }, config);
      return;
    }
    if (finished || stopping) return;

    const rep = new StatusReporter({
      store,
      machineId,
      ...(config.flyMachineId !== undefined ? { flyMachineId: config.flyMachineId } : {}),
      sleep: deps.sleep,
      random: deps.random,
      log,
      policy,
      onFatal: (failure) => void stop({ kind: 'fatal', failure }, config),
    });
    reporter = rep;
    if (config.machineId === undefined) {
      void rep.warn('MACHINE_ID_MISMATCH', {
        reason: 'MACHINE_ID is not set; the row was found by FLY_MACHINE_ID',
        machine_id: machineId,
        env_machine_id: null,
        fly_machine_id: config.flyMachineId ?? null,
        ...(config.machineIdAlias ? { alias_found: config.machineIdAlias } : {}),
      });
    }
    rep.report('running').then(
      (row) => {
        const rowFly = row.fly_machine_id;
        if (config.flyMachineId && rowFly && rowFly !== config.flyMachineId) {
          log.warn(
            { machineId, envFlyMachineId: config.flyMachineId, rowFlyMachineId: rowFly },
            `FLY_MACHINE_ID ${config.flyMachineId} differs from the row's fly_machine_id ${rowFly} (MACHINE_ID ${machineId})`,
          );
          void rep.warn('MACHINE_ID_MISMATCH', {
            reason: "FLY_MACHINE_ID differs from the row's fly_machine_id",
            machine_id: machineId,
            env_machine_id: config.machineId ?? null,
            fly_machine_id: config.flyMachineId,
            row_fly_machine_id: rowFly,
          });
        }
      },
      () => {},
    );
    cancelHeartbeat = deps.every(config.heartbeatIntervalMs, () => void rep.heartbeat());

    if (config.workloadCmd !== undefined) {
      const w = deps.startWorkload(config.workloadCmd);
      workload = w;
      log.info({ workloadPid: w.pid }, 'workload started');
      void w.exited.then((exit) => {
        if (!stopping) void stop({ kind: 'workload', exit }, config);
      });
    }
  }

  return {
    run,
    killWorkload: () => workload?.signal('SIGKILL'),
  };
}
