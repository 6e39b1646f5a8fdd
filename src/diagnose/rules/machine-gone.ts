import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, registryAnswer, rowEvidence } from '../evidence.ts';

const ACTIVE = new Set(['starting', 'running', 'stopping']);

/**
 * The row points at a Fly machine that is destroyed or that Fly no longer knows, and the image is
 * not the cause.
 */
export const machineGone: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (machine && machine.state !== 'destroyed') return null;
  const flyId = input.row.fly_machine_id;
  // No machine and no recorded id: never created (NEVER_CREATED), not gone.
  if (!machine && !flyId) return null;
  return {
    code: 'MACHINE_GONE',
    summary: `Fly machine ${machine?.id ?? flyId} is ${machine ? 'destroyed' : 'gone (Fly answers 404)'}${
      ACTIVE.has(input.row.status) ? `, but the row still says ${input.row.status}` : ''
    }.`,
    evidence: [
      ...rowEvidence(input),
      ...(machine
        ? machineEvidence(input, machine)
        : [fact(input, 'Fly machine', `${flyId}: not found, even with include_deleted`, 'fly')]),
      ...(input.imageCheck?.status === 'exists'
        ? [fact(input, 'image', `${input.imageCheck.imageRef} exists`, 'registry')]
        : input.imageCheck?.status === 'unknown'
          ? [
              fact(
                input,
                'registry answer',
                `${input.imageCheck.imageRef} not verified: ${registryAnswer(input.imageCheck)}`,
                'registry',
              ),
            ]
          : []),
    ],
    fix: 'Start a new machine with /vyx start. If machines keep vanishing, check auto_destroy and the restart policy, and who destroys machines in this app.',
    certainty: 'certain',
  };
};
