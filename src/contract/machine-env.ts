import { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';

/**
 * The environment a vyx machine receives: what the provisioner puts in Fly's `config.env` (and app
 * secrets), and what `runtime/` parses from `process.env`. Both sides use this file, so a name
 * mismatch (the incident's `SUPABASE_SERVICE_ROLE_KEY` vs `SUPABASE_SERVICE_KEY`, or a missing
 * `MACHINE_ID`) cannot compile on the bot's side and is named at boot on the machine's side.
 *
 * Messages name variables, never their values.
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

export const MACHINE_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type MachineLogLevel = (typeof MACHINE_LOG_LEVELS)[number];

const seconds = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().min(min).max(max));

/** Each variable: its schema (over the raw string) and, for messages, what it should be. */
const FIELDS = {
  MACHINE_ID: {
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/),
    expected: 'the cloud_machines.machine_id of this machine, e.g. vyx-63eea370',
  },
  USER_ID: { schema: z.string().regex(/^\S{1,256}$/), expected: 'the vyx user id, without spaces' },
  SUPABASE_URL: {
    schema: z.url({ protocol: /^https?$/ }),
    expected: 'an http(s) URL such as https://<project>.supabase.co',
  },
  SUPABASE_SERVICE_KEY: {
    schema: z.string().regex(/^\S+$/),
    expected: "the project's service_role key, without spaces or newlines",
  },
  SUPABASE_MACHINE_TOKEN: {
    schema: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
    expected: "this machine's own JWT, as the bot minted it",
  },
  SUPABASE_ANON_KEY: {
    schema: z.string().regex(/^\S+$/),
    expected: "the project's anon key, without spaces or newlines",
  },
  GEMINI_API_KEY: { schema: z.string().regex(/^\S+$/), expected: 'an API key without spaces or newlines' },
  CPU_PRIORITY: {
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/),
    expected: 'a word such as low, normal or high',
  },
  VYX_HEARTBEAT_INTERVAL_S: {
    schema: seconds(0.05, 3600),
    expected: 'seconds between heartbeats (0.05 to 3600)',
  },
  VYX_STOP_TIMEOUT_S: {
    schema: seconds(1, 86_400),
    expected: "the machine's stop timeout in seconds (1 to 86400)",
  },
  VYX_WORKLOAD_CMD: { schema: z.string().min(1), expected: 'a shell command' },
  LOG_LEVEL: { schema: z.enum(MACHINE_LOG_LEVELS), expected: `one of ${MACHINE_LOG_LEVELS.join(', ')}` },
} satisfies Record<MachineEnvName, { schema: z.ZodType; expected: string }>;

type FieldOut<N extends MachineEnvName> = z.output<(typeof FIELDS)[N]['schema']>;

/**
 * The parsed environment: typed values, optional ones absent when not set. SUPABASE_SERVICE_KEY is
 * absent when the machine has its own token (then SUPABASE_MACHINE_TOKEN and SUPABASE_ANON_KEY are set).
 */
export type MachineEnv = { [N in Exclude<RequiredMachineEnvName, 'SUPABASE_SERVICE_KEY'>]: FieldOut<N> } & {
  [N in OptionalMachineEnvName | 'SUPABASE_SERVICE_KEY']?: FieldOut<N>;
};

/** The zod schema of the whole environment (unknown variables are ignored). */
export const machineEnvSchema = z.object({
  MACHINE_ID: FIELDS.MACHINE_ID.schema,
  USER_ID: FIELDS.USER_ID.schema,
  SUPABASE_URL: FIELDS.SUPABASE_URL.schema,
  SUPABASE_SERVICE_KEY: FIELDS.SUPABASE_SERVICE_KEY.schema,
  SUPABASE_MACHINE_TOKEN: FIELDS.SUPABASE_MACHINE_TOKEN.schema.optional(),
  SUPABASE_ANON_KEY: FIELDS.SUPABASE_ANON_KEY.schema.optional(),
  GEMINI_API_KEY: FIELDS.GEMINI_API_KEY.schema.optional(),
  CPU_PRIORITY: FIELDS.CPU_PRIORITY.schema.optional(),
  VYX_HEARTBEAT_INTERVAL_S: FIELDS.VYX_HEARTBEAT_INTERVAL_S.schema.optional(),
  VYX_STOP_TIMEOUT_S: FIELDS.VYX_STOP_TIMEOUT_S.schema.optional(),
  VYX_WORKLOAD_CMD: FIELDS.VYX_WORKLOAD_CMD.schema.optional(),
  LOG_LEVEL: FIELDS.LOG_LEVEL.schema.optional(),
});

/** Something that keeps the environment from being used. */
export type MachineEnvProblem =
  /** Not set (or empty); `aliasFound` is a known wrong name that is set instead. */
  | { kind: 'missing'; name: MachineEnvName; aliasFound?: string }
  /** Set, but not a valid value; `expected` says what it should be. */
  | { kind: 'malformed'; name: MachineEnvName; expected: string };

/** Worth a log line, not fatal. */
export type MachineEnvNotice =
  /** Both the right name and a wrong alias are set; the alias is ignored. */
  | { kind: 'alias-ignored'; name: MachineEnvName; alias: string }
  /** An optional variable is not set, but a wrong alias of it is (and is ignored). */
  | { kind: 'optional-alias'; name: MachineEnvName; alias: string };

export type MachineEnvParse =
  | { ok: true; env: MachineEnv; problems: []; notices: MachineEnvNotice[] }
  | { ok: false; env: Partial<MachineEnv>; problems: MachineEnvProblem[]; notices: MachineEnvNotice[] };

/**
 * The required names for a machine given the names it has: with either token name present, the
 * credential is the token pair (both needed) instead of SUPABASE_SERVICE_KEY.
 */
function requiredGiven(present: readonly string[]): MachineEnvName[] {
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

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/**
 * Parses an environment (`process.env`, or a `config.env` about to be sent) against the contract and
 * returns every problem at once: each required variable missing (with the alias set instead, if
 * any) and each variable set to a malformed value. Names only, never values.
 */
export function parseMachineEnv(env: Readonly<Record<string, string | undefined>>): MachineEnvParse {
  const setNames = Object.keys(env).filter((k) => isSet(env[k]));
  const required = requiredGiven(setNames);
  const problems: MachineEnvProblem[] = [];
  const notices: MachineEnvNotice[] = [];
  const values: Record<string, unknown> = {};
  for (const name of MACHINE_ENV_NAMES) {
    const raw = env[name];
    const aliases = aliasesOf(name, setNames);
    if (!isSet(raw)) {
      if (required.includes(name)) {
        problems.push(
          aliases[0] === undefined
            ? { kind: 'missing', name }
            : { kind: 'missing', name, aliasFound: aliases[0] },
        );
      } else {
        for (const alias of aliases) notices.push({ kind: 'optional-alias', name, alias });
      }
      continue;
    }
    for (const alias of aliases) notices.push({ kind: 'alias-ignored', name, alias });
    const field: { schema: z.ZodType; expected: string } = FIELDS[name];
    const parsed = field.schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else problems.push({ kind: 'malformed', name, expected: field.expected });
  }
  if (problems.length === 0) return { ok: true, env: values as MachineEnv, problems: [], notices };
  return { ok: false, env: values as Partial<MachineEnv>, problems, notices };
}

/**
 * The names-only check of the watcher's ENV_MISMATCH rule: given the names a machine receives
 * (`config.env` keys ∪ the app's secret names), each required variable that is not among them, with
 * the alias present instead if there is one.
 */
export function checkMachineEnvNames(
  names: Iterable<string>,
): Extract<MachineEnvProblem, { kind: 'missing' }>[] {
  const present = [...new Set(names)];
  const out: Extract<MachineEnvProblem, { kind: 'missing' }>[] = [];
  for (const name of requiredGiven(present)) {
    if (present.includes(name)) continue;
    const alias = aliasesOf(name, present)[0];
    out.push(alias === undefined ? { kind: 'missing', name } : { kind: 'missing', name, aliasFound: alias });
  }
  return out;
}

/** One problem in words, e.g. `SUPABASE_SERVICE_KEY is missing (SUPABASE_SERVICE_ROLE_KEY is set: rename it to SUPABASE_SERVICE_KEY)`. */
export function describeMachineEnvProblem(problem: MachineEnvProblem): string {
  if (problem.kind === 'malformed') return `${problem.name} is malformed (expected ${problem.expected})`;
  if (problem.aliasFound === undefined) return `${problem.name} is missing`;
  return `${problem.name} is missing (${problem.aliasFound} is set: rename it to ${problem.name})`;
}

/** Every problem on one line, joined with `; `. */
export function describeMachineEnvProblems(problems: readonly MachineEnvProblem[]): string {
  return problems.map(describeMachineEnvProblem).join('; ');
}

export function describeMachineEnvNotice(notice: MachineEnvNotice): string {
  return notice.kind === 'alias-ignored'
    ? `${notice.alias} is set besides ${notice.name} and is ignored: remove it`
    : `${notice.alias} is set but ignored: the variable is named ${notice.name}`;
}

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
