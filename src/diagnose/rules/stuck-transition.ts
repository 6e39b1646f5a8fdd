import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, formatDuration, machineEvidence, rowEvidence } from '../evidence.ts';

/** Fly's own line: a machine should leave `created`/`starting` well within five minutes. */
export const FLY_STUCK_AFTER_S = 300;

/** Fly itself has not moved the machine out of `created` or `starting`. */
export const stuckTransition: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (!machine || (machine.state !== 'created' && machine.state !== 'starting')) return null;
  const newest = machine.events[0]?.timestamp ?? Date.parse(machine.updated_at ?? machine.created_at ?? '');
  if (!Number.isFinite(newest)) return null;
  const inState = Math.round((input.now.getTime() - newest) / 1000);
  if (inState < FLY_STUCK_AFTER_S) return null;
  return {
    code: 'STUCK_TRANSITION',
    summary: `Fly has kept machine ${machine.id} in ${machine.state} for ${formatDuration(inState)}.`,
    evidence: [
      ...rowEvidence(input),
      fact(
        input,
        'time in state',
        `${formatDuration(inState)} (Fly's line: ${FLY_STUCK_AFTER_S / 60} min)`,
        'fly',
      ),
      ...machineEvidence(input, machine),
    ],
    fix: `Check https://status.flyio.net and the machine (fly machine status ${machine.id} -a ${input.row.fly_app ?? '<app>'}); then /vyx destroy ${input.row.machine_id} and /vyx start a new one, perhaps in another region (--region).`,
    certainty: 'likely',
  };
};
