import type { Machine } from '../fly/fly-types.ts';
import type { ImageCheck } from '../fly/registry-answer.ts';
import type { CloudMachine, UnmatchedWrite } from '../store/store-schemas.ts';

/** The diagnosis catalogue (DESIGN §5). Codes are stable: dedup, runbooks and cards key on them. */
export const DIAGNOSIS_CODES = [
  'IMAGE_TAG_MISSING',
  'IMAGE_REPOSITORY_MISSING',
  'IMAGE_UNVERIFIED',
  'ENV_MISMATCH',
  'MACHINE_ID_MISMATCH',
  'OOM_KILLED',
  'BOOT_CRASH',
  'MACHINE_GONE',
  'NEVER_CREATED',
  'STUCK_TRANSITION',
  'HOST_UNREACHABLE',
  'RUNTIME_SILENT',
  'ORPHAN_MACHINE',
  'WATCHER_BLIND',
  'UNKNOWN_STATUS',
  'UNKNOWN',
] as const;
export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number];

/** One fact checked: what, its value (names and states, never secret values), where from, when. */
export interface Evidence {
  fact: string;
  value: string;
  source: 'registry' | 'fly' | 'fly secrets' | 'fly logs' | 'database' | 'watcher';
  at?: string;
}

export interface Diagnosis {
  code: DiagnosisCode;
  /** One line in plain words. */
  summary: string;
  evidence: Evidence[];
  /** What to do, in one or two sentences. */
  fix: string;
  /** `certain`: the row can be marked failed. */
  certainty: 'certain' | 'likely' | 'possible';
}

/** How the live machine was tied to the row. */
export type MachineMatch =
  | 'fly_machine_id'
  | 'create_key'
  | 'metadata'
  | 'name'
  | 'env_machine_id'
  | 'env_user_id';

/** Everything a rule may look at: the row, what Fly and the registry said, and the time. No I/O. */
export interface DiagnosisInput {
  row: Pick<
    CloudMachine,
    | 'machine_id'
    | 'user_id'
    | 'status'
    | 'status_changed_at'
    | 'fly_app'
    | 'fly_machine_id'
    | 'image'
    | 'last_heartbeat_at'
    | 'created_at'
    | 'status_written_by'
  >;
  /** The Fly machine behind the row (app list with include_deleted), null when Fly has none. */
  machine: Machine | null;
  /** How `machine` was found; undefined when null. */
  matchedBy?: MachineMatch;
  /** The registry's answer for the image (the machine's, else the row's); undefined when not checked. */
  imageCheck?: ImageCheck;
  /** Names of the app's secrets; undefined when Fly did not say. */
  secretNames?: string[];
  /** Status writes to cloud_machines that matched no row (any row), newest first; undefined when not read. */
  unmatchedWrites?: UnmatchedWrite[];
  now: Date;
  /** The watcher's threshold: how long a row may stay `starting`. */
  stuckAfterS: number;
}

export type DiagnosisRule = (input: DiagnosisInput) => Diagnosis | null;
