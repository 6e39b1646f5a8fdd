import { VyxError } from '../errors/vyx-error.ts';
import { describeMachineEnvProblems, type MachineLogLevel, parseMachineEnv } from './machine-env.ts';
import { type MachineEnvName, type RequiredMachineEnvName, requiredGiven } from './machine-env-names.ts';

/**
 * The provisioner's side of the machine environment contract: typed input in, Fly's `config.env`
 * out, checked with the runtime's own parse (machine-env.ts) so a machine is never created with an
 * environment it would refuse at boot.
 */

/** What the provisioner knows about a machine; each field maps to exactly one contract variable. */
export interface MachineEnvInput {
  machineId: string;
  userId: string;
  supabaseUrl: string;
  /** The legacy credential: the project's service_role key. Give this or the token pair. */
  supabaseServiceKey?: string;
  /** The machine's own JWT (mintMachineToken), sent with the anon key. */
  machineToken?: string;
  anonKey?: string;
  geminiApiKey?: string;
  cpuPriority?: string;
  heartbeatIntervalS?: number;
  stopTimeoutS?: number;
  workloadCmd?: string;
  logLevel?: MachineLogLevel;
}

/** The one place where input fields become variable names. */
const INPUT_NAMES = {
  machineId: 'MACHINE_ID',
  userId: 'USER_ID',
  supabaseUrl: 'SUPABASE_URL',
  supabaseServiceKey: 'SUPABASE_SERVICE_KEY',
  machineToken: 'SUPABASE_MACHINE_TOKEN',
  anonKey: 'SUPABASE_ANON_KEY',
  geminiApiKey: 'GEMINI_API_KEY',
  cpuPriority: 'CPU_PRIORITY',
  heartbeatIntervalS: 'VYX_HEARTBEAT_INTERVAL_S',
  stopTimeoutS: 'VYX_STOP_TIMEOUT_S',
  workloadCmd: 'VYX_WORKLOAD_CMD',
  logLevel: 'LOG_LEVEL',
} as const satisfies Record<keyof MachineEnvInput, MachineEnvName>;

/** Fly's `config.env` for a machine: the required variables always, optional ones only when set. */
export type MachineConfigEnv = {
  [N in Exclude<RequiredMachineEnvName, 'SUPABASE_SERVICE_KEY'>]: string;
} & Record<string, string>;

/**
 * Builds `config.env` from typed input (so a wrong or missing name cannot compile) and checks it
 * with the same parse the runtime uses. Empty optional values are left out, never sent as `''`.
 * Throws VyxError ENV_INVALID naming every bad variable (names only).
 */
export function buildMachineEnv(input: MachineEnvInput): MachineConfigEnv {
  const env: Record<string, string> = {};
  const entries = Object.entries(INPUT_NAMES) as [keyof MachineEnvInput, MachineEnvName][];
  const required = requiredGiven(
    entries.filter(([k]) => String(input[k] ?? '').trim() !== '').map(([, n]) => n),
  );
  for (const [key, name] of entries) {
    const value = input[key];
    if (value === undefined) continue;
    const text = String(value);
    if (text.trim() === '' && !required.includes(name)) continue;
    env[name] = text;
  }
  const parsed = parseMachineEnv(env);
  if (!parsed.ok) {
    throw new VyxError(
      'ENV_INVALID',
      `the machine environment is invalid: ${describeMachineEnvProblems(parsed.problems)}`,
      {
        suggestion:
          'Fix these values before creating the machine; a machine started with them could not report its status.',
        details: { variables: parsed.problems.map((p) => p.name) },
      },
    );
  }
  return env as MachineConfigEnv;
}
