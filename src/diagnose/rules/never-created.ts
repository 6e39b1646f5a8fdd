import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, rowEvidence } from '../evidence.ts';

/**
 * No Fly machine belongs to the row by any key — no Fly id recorded, and none of the app's
 * machines (destroyed ones included) carries the row's id in vyxbot's metadata, its name or env
 * `MACHINE_ID`, nor the row's `USER_ID`: the create never happened (or never reached Fly).
 * Separate from MACHINE_GONE, which needs a machine that existed.
 */
export const neverCreated: DiagnosisRule = (input) => {
  if (input.machine || input.row.fly_machine_id) return null;
  const app = input.row.fly_app ?? 'the app';
  return {
    code: 'NEVER_CREATED',
    summary: `No Fly machine was ever made for row ${input.row.machine_id}: none in ${app} matches it by any key.`,
    evidence: [
      ...rowEvidence(input),
      fact(input, 'fly_machine_id', '(none recorded)', 'database'),
      fact(
        input,
        `machines in ${app} (destroyed included)`,
        `none with metadata vyx_machine_id=${input.row.machine_id}, name ${input.row.machine_id}, env MACHINE_ID=${input.row.machine_id} or env USER_ID=${String(input.row.user_id)}`,
        'fly',
      ),
    ],
    fix: 'The row is marked failed, so it no longer blocks a new machine: /vyx start makes one. If it keeps happening, read the provisioner’s log around its create call.',
    certainty: 'certain',
  };
};
