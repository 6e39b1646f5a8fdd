import {
  describeMachineEnvNotice,
  describeMachineEnvProblems,
  type MachineEnvProblem,
  type MachineLogLevel,
  parseMachineEnv,
} from '../src/contract/machine-env.ts';
import { aliasesOf } from '../src/contract/machine-env-names.ts';

/** What the runtime runs with, from its environment. */
export interface RuntimeConfig {
  /** MACHINE_ID; absent only when FLY_MACHINE_ID is there to find the row by. */
  machineId?: string;
  /** FLY_MACHINE_ID, which Fly injects into every machine. */
  flyMachineId?: string;
  flyAppName?: string;
  /** A wrong name set instead of MACHINE_ID (for the warning event), when MACHINE_ID is absent. */
  machineIdAlias?: string;
  userId: string;
  supabaseUrl: string;
  /** Sent as `apikey`: the anon key with the machine's own token, else the legacy service key. */
  apiKey: string;
  /** SUPABASE_MACHINE_TOKEN: the machine's own JWT, sent as the bearer (least privilege). */
  accessToken?: string;
  heartbeatIntervalMs: number;
  stopTimeoutMs: number;
  workloadCmd?: string;
  logLevel: MachineLogLevel;
  cpuPriority?: string;
}

export type RuntimeConfigResult =
  | { ok: true; config: RuntimeConfig; notices: string[] }
  | { ok: false; message: string; problems: MachineEnvProblem[] };

export const DEFAULT_HEARTBEAT_INTERVAL_S = 15;
/** Fly's default stop timeout (`stop_config.timeout` / kill_timeout). */
export const DEFAULT_STOP_TIMEOUT_S = 5;

const FLY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The machine env contract as the runtime applies it: every problem is fatal, except that a
 * missing MACHINE_ID is tolerated when FLY_MACHINE_ID is set (the row is then found by its Fly id
 * and a MACHINE_ID_MISMATCH warning is recorded). There is never a made-up id.
 */
export function loadRuntimeConfig(env: Readonly<Record<string, string | undefined>>): RuntimeConfigResult {
  const parsed = parseMachineEnv(env);
  const flyRaw = env.FLY_MACHINE_ID?.trim();
  const flyMachineId = flyRaw && FLY_ID.test(flyRaw) ? flyRaw : undefined;
  const problems = parsed.problems.filter(
    (p) => !(p.name === 'MACHINE_ID' && p.kind === 'missing' && flyMachineId !== undefined),
  );
  if (problems.length > 0) {
    return { ok: false, message: describeMachineEnvProblems(problems), problems };
  }
  const e = parsed.env;
  const notices = parsed.notices.map(describeMachineEnvNotice);
  if (flyRaw && flyMachineId === undefined) notices.push('FLY_MACHINE_ID is malformed and is ignored');
  const config: RuntimeConfig = {
    userId: e.USER_ID!,
    supabaseUrl: e.SUPABASE_URL!,
    apiKey: e.SUPABASE_MACHINE_TOKEN !== undefined ? e.SUPABASE_ANON_KEY! : e.SUPABASE_SERVICE_KEY!,
    heartbeatIntervalMs: Math.round((e.VYX_HEARTBEAT_INTERVAL_S ?? DEFAULT_HEARTBEAT_INTERVAL_S) * 1000),
    stopTimeoutMs: Math.round((e.VYX_STOP_TIMEOUT_S ?? DEFAULT_STOP_TIMEOUT_S) * 1000),
    logLevel: e.LOG_LEVEL ?? 'info',
  };
  if (e.SUPABASE_MACHINE_TOKEN !== undefined) config.accessToken = e.SUPABASE_MACHINE_TOKEN;
  if (e.MACHINE_ID !== undefined) config.machineId = e.MACHINE_ID;
  else {
    const alias = aliasesOf(
      'MACHINE_ID',
      Object.keys(env).filter((k) => env[k]?.trim()),
    )[0];
    if (alias !== undefined) config.machineIdAlias = alias;
  }
  if (flyMachineId !== undefined) config.flyMachineId = flyMachineId;
  const app = env.FLY_APP_NAME?.trim();
  if (app) config.flyAppName = app;
  if (e.VYX_WORKLOAD_CMD !== undefined) config.workloadCmd = e.VYX_WORKLOAD_CMD;
  if (e.CPU_PRIORITY !== undefined) config.cpuPriority = e.CPU_PRIORITY;
  return { ok: true, config, notices };
}
