import { z } from 'zod';
import {
  aliasesOf,
  MACHINE_ENV_NAMES,
  type MachineEnvName,
  type OptionalMachineEnvName,
  type RequiredMachineEnvName,
  requiredGiven,
} from './machine-env-names.ts';

/**
 * The environment a vyx machine receives: what the provisioner puts in Fly's `config.env` (and app
 * secrets), and what `runtime/` parses from `process.env`. Both sides parse it with this file (the
 * bot through build-machine-env.ts; the names are in machine-env-names.ts), so a name mismatch (the
 * incident's `SUPABASE_SERVICE_ROLE_KEY` vs `SUPABASE_SERVICE_KEY`, or a missing `MACHINE_ID`)
 * cannot compile on the bot's side and is named at boot on the machine's side.
 *
 * Messages name variables, never their values.
 */

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
