import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, rowEvidence } from '../evidence.ts';

/**
 * The row points at a Fly machine that is destroyed or that Fly no longer knows, and the image is
 * not the cause. A row that never got a Fly machine id is the same story one step earlier.
 */
export const machineGone: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (machine && machine.state !== 'destroyed') return null;
  const flyId = input.row.fly_machine_id;
  if (!machine && !flyId) {
    return {
      code: 'MACHINE_GONE',
      summary: `No Fly machine belongs to row ${input.row.machine_id}: it was never created, or was created without its id being recorded.`,
      evidence: [
        ...rowEvidence(input),
        fact(input, 'fly_machine_id', '(none recorded)', 'database'),
        fact(
          input,
          `machines in ${input.row.fly_app ?? 'the app'}`,
          'none carries this row’s id in metadata or MACHINE_ID',
          'fly',
        ),
      ],
      fix: 'Mark this machine failed and start a new one with /vyx start; if it keeps happening, check the provisioner’s log around the create call.',
      certainty: 'likely',
    };
  }
  return {
    code: 'MACHINE_GONE',
    summary: `Fly machine ${machine?.id ?? flyId} is ${machine ? 'destroyed' : 'gone (Fly answers 404)'}, but the row still says ${input.row.status}.`,
    evidence: [
      ...rowEvidence(input),
      ...(machine
        ? machineEvidence(input, machine)
        : [fact(input, 'Fly machine', `${flyId}: not found, even with include_deleted`, 'fly')]),
      ...(input.imageCheck?.status === 'exists'
        ? [fact(input, 'image', `${input.imageCheck.imageRef} exists`, 'registry')]
        : []),
    ],
    fix: 'Start a new machine with /vyx start. If machines keep vanishing, check auto_destroy and the restart policy, and who destroys machines in this app.',
    certainty: 'certain',
  };
};
