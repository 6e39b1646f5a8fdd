import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, rowEvidence } from '../evidence.ts';
import { matchEvidence } from '../match-evidence.ts';

/**
 * The machine was booted without MACHINE_ID, or with another row's id, so its status reports
 * cannot reach this row (incident 000: it fell back to `machine_<timestamp>` and updated 0 rows).
 */
export const machineIdMismatch: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (!machine?.config) return null;
  const envId = machine.config.env.MACHINE_ID;
  if (envId === input.row.machine_id) return null;
  const missing = envId === undefined || envId.trim() === '';
  return {
    code: 'MACHINE_ID_MISMATCH',
    summary: missing
      ? `The machine was started without MACHINE_ID, so its status cannot reach row ${input.row.machine_id}.`
      : `The machine was started with MACHINE_ID=${envId}, not ${input.row.machine_id}, so its status updates reach another row, or none.`,
    evidence: [
      ...rowEvidence(input),
      fact(input, 'row machine_id', input.row.machine_id, 'database'),
      fact(input, 'MACHINE_ID in config.env', missing ? '(missing)' : envId, 'fly'),
      fact(input, 'Fly machine id', `${machine.id} (row has ${input.row.fly_machine_id ?? 'none'})`, 'fly'),
      ...matchEvidence(input),
      ...machineEvidence(input, machine),
    ],
    fix: `Pass MACHINE_ID=${input.row.machine_id} in config.env when creating the machine (buildMachineEnv in src/contract/machine-env.ts does), then /vyx destroy ${input.row.machine_id} and /vyx start a new one.`,
    certainty: 'certain',
  };
};
