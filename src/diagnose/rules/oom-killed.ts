import { latestExit } from '../../fly/fly-types.ts';
import type { DiagnosisRule } from '../diagnosis.ts';
import { machineEvidence, rowEvidence } from '../evidence.ts';

/** The kernel killed the machine's process for running out of memory. */
export const oomKilled: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (!machine) return null;
  const exit = latestExit(machine);
  if (!exit?.exitEvent.oom_killed) return null;
  const memory = machine.config?.guest?.memory_mb;
  return {
    code: 'OOM_KILLED',
    summary: `The machine ran out of memory${memory ? ` (${memory} MB)` : ''} and was killed while starting.`,
    evidence: [...rowEvidence(input), ...machineEvidence(input, machine)],
    fix: 'Give the machine more memory (guest.memory_mb) or make the workload use less, then start a new machine.',
    certainty: 'certain',
  };
};
