import { checkMachineEnvNames, describeMachineEnvProblem } from '../../contract/machine-env.ts';
import { MACHINE_EXIT_CODES } from '../../contract/machine-exit-codes.ts';
import { latestExit } from '../../fly/fly-types.ts';
import type { DiagnosisRule } from '../diagnosis.ts';
import { envNamesOf, fact, machineEvidence, rowEvidence } from '../evidence.ts';

/**
 * A variable of the machine env contract is neither in config.env nor among the app's secrets
 * (MACHINE_ID is the MACHINE_ID_MISMATCH rule's). Names only, never values. Certain when a known
 * wrong name stands in its place or the runtime said so by exiting 78; likely when Fly did not list
 * the app's secrets, which might hold it.
 */
export const envMismatch: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (!machine?.config) return null;
  const problems = checkMachineEnvNames(envNamesOf(input)).filter((p) => p.name !== 'MACHINE_ID');
  if (problems.length === 0) return null;
  const exitedConfig = latestExit(machine)?.exitEvent.exit_code === MACHINE_EXIT_CODES.config;
  const aliased = problems.some((p) => p.aliasFound !== undefined);
  const certainty = aliased || exitedConfig || input.secretNames !== undefined ? 'certain' : 'likely';
  const names = problems.map((p) => p.name).join(', ');
  return {
    code: 'ENV_MISMATCH',
    summary: `The machine did not get ${names}${aliased ? ' under the name the runtime reads' : ''}.`,
    evidence: [
      ...rowEvidence(input),
      ...problems.map((p) => fact(input, 'env contract', describeMachineEnvProblem(p), 'fly')),
      fact(
        input,
        'config.env names',
        Object.keys(machine.config?.env ?? {})
          .sort()
          .join(', ') || '(none)',
        'fly',
      ),
      fact(
        input,
        'app secret names',
        input.secretNames === undefined
          ? '(not listed by Fly)'
          : input.secretNames.slice().sort().join(', ') || '(none)',
        'fly secrets',
      ),
      ...machineEvidence(input, machine),
    ],
    fix: aliased
      ? `Rename the variable in the provisioner: ${problems
          .filter((p) => p.aliasFound)
          .map((p) => `${p.aliasFound} → ${p.name}`)
          .join(
            ', ',
          )} (build config.env from src/contract/machine-env.ts), then /vyx destroy ${input.row.machine_id} and /vyx start a new one.`
      : `Set ${names} in the machine's config.env or as app secrets (fly secrets set …), then /vyx destroy ${input.row.machine_id} and /vyx start a new one.`,
    certainty,
  };
};
