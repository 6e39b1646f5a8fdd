import type { CloudMachine, StuckRow } from './store-schemas.ts';

const TEXT = ['machine_id', 'user_id', 'status', 'updated_at', 'created_at', 'status_changed_at'] as const;
const NULLABLE_TEXT = [
  'status_detail',
  'fly_app',
  'fly_machine_id',
  'region',
  'image',
  'last_heartbeat_at',
  'slack_team_id',
  'slack_channel',
  'slack_thread_ts',
  'requested_by',
  'flagged_at',
  'lease_owner',
  'lease_until',
] as const;
const DIAGNOSIS_TEXT = ['code', 'summary', 'fix', 'certainty'] as const;
/** Every key cloudMachineSchema keeps; a row with any other goes through the schema (which drops it). */
const KEYS = TEXT.length + NULLABLE_TEXT.length + 2;

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);
const isOptionalText = (v: unknown) => v === undefined || typeof v === 'string';

/**
 * Rows answered as `z.array(cloudMachineSchema)` would give them back, checked in place: the
 * schema copied every row of a claimed page (~40 MB of garbage for a 10,000-row tick, with
 * supabase-js's parse). Undefined when any row is not exactly of that shape (an extra column, a
 * wrong type): the caller then parses with the schema, whose error names the field.
 */
export function cloudMachineRows(data: unknown): CloudMachine[] | undefined {
  if (!Array.isArray(data)) return undefined;
  for (const row of data) if (!isCloudMachine(row)) return undefined;
  return data as CloudMachine[];
}

/** Claimed stuck rows, checked in place as `cloudMachineRows` checks whole rows (stuckRowSchema). */
export function stuckRows(data: unknown): StuckRow[] | undefined {
  if (!Array.isArray(data)) return undefined;
  for (const row of data) if (!isStuckRow(row)) return undefined;
  return data as StuckRow[];
}

const STUCK_TEXT = ['machine_id', 'user_id', 'status', 'status_changed_at', 'created_at'] as const;
const STUCK_NULLABLE_TEXT = ['fly_app', 'fly_machine_id', 'image', 'last_heartbeat_at'] as const;
const STUCK_KEYS = STUCK_TEXT.length + STUCK_NULLABLE_TEXT.length + 1;

/**
 * Exactly `keys` keys (`status_written_by` may be absent), text where `text`, text or null where
 * `nullable`, and a writer a writer.
 */
function hasColumns(
  row: unknown,
  text: readonly string[],
  nullable: readonly string[],
  keys: number,
): row is Raw {
  if (!isObject(row)) return false;
  let n = 0;
  for (const _ in row) n++;
  if (n !== ('status_written_by' in row ? keys : keys - 1)) return false;
  for (const k of text) if (typeof row[k] !== 'string') return false;
  for (const k of nullable) if (row[k] !== null && typeof row[k] !== 'string') return false;
  return isWriter(row.status_written_by);
}

function isStuckRow(row: unknown): boolean {
  return hasColumns(row, STUCK_TEXT, STUCK_NULLABLE_TEXT, STUCK_KEYS);
}

function isCloudMachine(row: unknown): boolean {
  return hasColumns(row, TEXT, NULLABLE_TEXT, KEYS) && 'diagnosis' in row && isDiagnosis(row.diagnosis);
}

function isWriter(w: unknown): boolean {
  if (w === undefined || w === null) return true;
  return (
    isObject(w) &&
    ['role', 'method', 'path', 'sub', 'machine_id', 'db_user', 'application'].every((k) =>
      isOptionalText(w[k]),
    )
  );
}

function isDiagnosis(d: unknown): boolean {
  if (d === null) return true;
  if (!isObject(d)) return false;
  let keys = 0;
  for (const _ in d) keys++;
  for (const k of DIAGNOSIS_TEXT) if (typeof d[k] !== 'string') return false;
  return 'at' in d ? keys === 5 && isOptionalText(d.at) : keys === 4;
}
