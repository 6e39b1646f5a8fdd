import { checkMachineEnvNames, describeMachineEnvProblem } from '../contract/machine-env.ts';
import type { Diagnosis } from './diagnosis.ts';

/**
 * /vyx start's check of the machine env contract before anything is created: given the names that
 * will have a value, an ENV_MISMATCH refusal when a contract variable would be missing, else null.
 */
export function preflightEnv(presentNames: readonly string[], now: Date): Diagnosis | null {
  const problems = checkMachineEnvNames(presentNames);
  if (problems.length === 0) return null;
  const at = now.toISOString();
  return {
    code: 'ENV_MISMATCH',
    summary: 'A machine started now would not get every variable it needs, so I did not create it.',
    evidence: problems.map((p) => ({
      fact: 'env contract',
      value: describeMachineEnvProblem(p),
      source: 'watcher',
      at,
    })),
    fix: 'Set the bot’s MACHINE_SUPABASE_SERVICE_KEY (or SUPABASE_SERVICE_KEY) so machines can report their status, then /vyx start again.',
    certainty: 'certain',
  };
}
