/**
 * The names of the machine environment contract (machine-env.ts): which variables a machine must
 * and may receive, which hold secrets, and the wrong names seen in their place. Names only, no
 * values, so the watcher's names-only check and the runtime's secret scrubber share them as they are.
 */

/**
 * Every machine must receive these. The watcher's ENV_MISMATCH rule checks config.env ∪ app secret
 * names against them. SUPABASE_SERVICE_KEY is the one exception: a machine that gets its own
 * credential (SUPABASE_MACHINE_TOKEN with SUPABASE_ANON_KEY, see MACHINE_TOKEN_NAMES) needs no
 * service key — and should not have one.
 */
export const REQUIRED_MACHINE_ENV_NAMES = [
  'MACHINE_ID',
  'USER_ID',
  'SUPABASE_URL',
  'SUPABASE_SERVICE_KEY',
] as const;

/** A machine's own credential: its JWT (role vyx_machine, its machine_id) and the project's anon key to send it with. */
export const MACHINE_TOKEN_NAMES = ['SUPABASE_MACHINE_TOKEN', 'SUPABASE_ANON_KEY'] as const;

/** Optional variables the platform may pass. An empty value counts as not set. */
export const OPTIONAL_MACHINE_ENV_NAMES = [
  'SUPABASE_MACHINE_TOKEN',
  'SUPABASE_ANON_KEY',
  'GEMINI_API_KEY',
  'CPU_PRIORITY',
  'VYX_HEARTBEAT_INTERVAL_S',
  'VYX_STOP_TIMEOUT_S',
  'VYX_WORKLOAD_CMD',
  'LOG_LEVEL',
] as const;

export type RequiredMachineEnvName = (typeof REQUIRED_MACHINE_ENV_NAMES)[number];
export type OptionalMachineEnvName = (typeof OPTIONAL_MACHINE_ENV_NAMES)[number];
export type MachineEnvName = RequiredMachineEnvName | OptionalMachineEnvName;

export const MACHINE_ENV_NAMES: readonly MachineEnvName[] = [
  ...REQUIRED_MACHINE_ENV_NAMES,
  ...OPTIONAL_MACHINE_ENV_NAMES,
];

/** Variables of the contract whose values are secrets (logs and messages show their names only). */
export const SECRET_MACHINE_ENV_NAMES: readonly MachineEnvName[] = [
  'SUPABASE_SERVICE_KEY',
  'SUPABASE_MACHINE_TOKEN',
  'GEMINI_API_KEY',
];

/**
 * Wrong names seen (or likely) in place of a contract variable. Besides these, a name that differs
 * from a contract name only in letter case (`machine_id`) is reported as an alias too.
 */
export const MACHINE_ENV_ALIASES: Readonly<Record<string, MachineEnvName>> = {
  // The incident: the provisioner sent SUPABASE_SERVICE_ROLE_KEY, the runtime read SUPABASE_SERVICE_KEY.
  SUPABASE_SERVICE_ROLE_KEY: 'SUPABASE_SERVICE_KEY',
  SUPABASE_SERVICE_ROLE: 'SUPABASE_SERVICE_KEY',
  SERVICE_ROLE_KEY: 'SUPABASE_SERVICE_KEY',
  SUPABASE_KEY: 'SUPABASE_SERVICE_KEY',
  SUPABASE_SECRET_KEY: 'SUPABASE_SERVICE_KEY',
  SUPABASE_API_URL: 'SUPABASE_URL',
  SUPABASE_PROJECT_URL: 'SUPABASE_URL',
  NEXT_PUBLIC_SUPABASE_URL: 'SUPABASE_URL',
  VITE_SUPABASE_URL: 'SUPABASE_URL',
  VYX_MACHINE_ID: 'MACHINE_ID',
  CLOUD_MACHINE_ID: 'MACHINE_ID',
  VYX_USER_ID: 'USER_ID',
  GOOGLE_API_KEY: 'GEMINI_API_KEY',
  GEMINI_KEY: 'GEMINI_API_KEY',
  VYX_HEARTBEAT_INTERVAL: 'VYX_HEARTBEAT_INTERVAL_S',
  HEARTBEAT_INTERVAL_S: 'VYX_HEARTBEAT_INTERVAL_S',
  WORKLOAD_CMD: 'VYX_WORKLOAD_CMD',
  VYX_WORKLOAD_COMMAND: 'VYX_WORKLOAD_CMD',
};

/**
 * The required names for a machine given the names it has: with either token name present, the
 * credential is the token pair (both needed) instead of SUPABASE_SERVICE_KEY.
 */
export function requiredGiven(present: readonly string[]): MachineEnvName[] {
  const tokenMode = MACHINE_TOKEN_NAMES.some((n) => present.includes(n));
  return tokenMode
    ? [...REQUIRED_MACHINE_ENV_NAMES.filter((n) => n !== 'SUPABASE_SERVICE_KEY'), ...MACHINE_TOKEN_NAMES]
    : [...REQUIRED_MACHINE_ENV_NAMES];
}

/** The wrong names, among `names`, that stand for the contract variable `name` (known aliases and case variants). */
export function aliasesOf(name: MachineEnvName, names: Iterable<string>): string[] {
  const found: string[] = [];
  for (const candidate of names) {
    if (candidate === name) continue;
    if (MACHINE_ENV_ALIASES[candidate] === name || candidate.toUpperCase() === name) found.push(candidate);
  }
  return found.sort();
}
