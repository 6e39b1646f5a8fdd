import { MACHINE_STATUSES } from '../../contract/machine-status.ts';
import type { StatusWriter } from '../../store/store-schemas.ts';
import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, formatDuration, machineEvidence, secondsSince } from '../evidence.ts';

/** The writer as one line: `service_role via PATCH /rest/v1/cloud_machines (db user authenticator)`. */
export function describeWriter(w: StatusWriter | null | undefined): string {
  if (!w || Object.keys(w).length === 0) return 'unknown (written before vyxbot recorded writers)';
  const parts = [w.role ?? 'unknown role'];
  if (w.method || w.path) parts.push(`via ${[w.method, w.path].filter(Boolean).join(' ')}`);
  if (w.sub) parts.push(`as user ${w.sub}`);
  if (w.machine_id) parts.push(`with the token of machine ${w.machine_id}`);
  const conn = [w.db_user && `db user ${w.db_user}`, w.application && `application ${w.application}`]
    .filter(Boolean)
    .join(', ');
  if (conn) parts.push(`(${conn})`);
  return parts.join(' ');
}

/**
 * Some writer — the platform's edge function, an older runtime, a person in SQL — put a status word
 * outside vyxbot's vocabulary on the row. It was stored as written (nothing vyxbot adds may fail
 * another writer); this says which word, who wrote it, and since when.
 */
export const unknownStatus: DiagnosisRule = (input) => {
  const { row } = input;
  if ((MACHINE_STATUSES as readonly string[]).includes(row.status)) return null;
  const since = secondsSince(row.status_changed_at, input.now);
  const writer = describeWriter(row.status_written_by);
  return {
    code: 'UNKNOWN_STATUS',
    summary: `Row ${row.machine_id} says "${row.status}", a status vyxbot does not know, written by ${writer}.`,
    evidence: [
      fact(
        input,
        'status',
        `"${row.status}"${since === undefined ? '' : ` for ${formatDuration(since)}`}`,
        'database',
      ),
      fact(input, 'written by', writer, 'database'),
      fact(input, 'known statuses', MACHINE_STATUSES.join(', '), 'watcher'),
      ...(input.machine
        ? machineEvidence(input, input.machine)
        : [fact(input, 'Fly machine', 'none found', 'fly')]),
    ],
    fix: `Make that writer use one of ${MACHINE_STATUSES.join(', ')} (or map "${row.status}" to one of them); then set this row's status to what the machine really is.`,
    certainty: 'likely',
  };
};
