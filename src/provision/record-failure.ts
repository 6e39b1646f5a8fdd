import type { Diagnosis } from '../diagnose/diagnosis.ts';
import type { VyxStore } from '../store/vyx-store.ts';

/**
 * The one "record, mark failed, tell" step of a provisioning that failed or was given up: the
 * diagnosis is recorded (the outbox carries it into the machine's thread — that is the telling) and
 * the row marked failed; the bot's own step failed, so the row is failed whatever the certainty.
 * Throws when the store does; the caller says what could not be recorded.
 */
export async function recordFailure(
  store: Pick<VyxStore, 'recordDiagnosis' | 'getMachine' | 'reportStatus'>,
  machineId: string,
  diagnosis: Diagnosis,
): Promise<void> {
  await store.recordDiagnosis({
    machineId,
    code: diagnosis.code,
    summary: diagnosis.summary,
    evidence: diagnosis.evidence,
    fix: diagnosis.fix,
    certainty: diagnosis.certainty,
    markFailed: true,
  });
  const row = await store.getMachine(machineId);
  if (row.status === 'starting') await store.reportStatus(machineId, 'failed', diagnosis.code);
}
