import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, registryAnswer, rowEvidence } from '../evidence.ts';

const ACTIVE = new Set(['starting', 'running', 'stopping']);

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
      fix: `Close the row with /vyx destroy ${input.row.machine_id} (it has no Fly machine, so nothing else is removed), then /vyx start a new one; if it keeps happening, read the provisioner’s log around the create call.`,
      certainty: 'likely',
    };
  }
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
