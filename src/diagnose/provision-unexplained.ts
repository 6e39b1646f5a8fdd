import type { Diagnosis } from './diagnosis.ts';

/** A provisioning failed and no evidence could be gathered to say why: UNKNOWN, possible. */
export function provisionUnexplained(): Diagnosis {
  return {
    code: 'UNKNOWN',
    summary: 'Provisioning failed and I could not gather more evidence.',
    evidence: [],
    fix: 'Try /vyx start again; if it fails again, read the bot’s log.',
    certainty: 'possible',
  };
}
