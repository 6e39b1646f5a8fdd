import { describeMachineExitCode } from '../../contract/machine-exit-codes.ts';
import { latestExit } from '../../fly/fly-types.ts';
import type { DiagnosisRule } from '../diagnosis.ts';
import { machineEvidence, rowEvidence } from '../evidence.ts';
import { restartEvidence, restartsOf } from '../restart-history.ts';

const MEANING: Record<number, string> = {
  1: 'a general error',
  126: 'the command could not be executed',
  127: 'the command was not found',
  137: 'it was killed (SIGKILL)',
};

/** Words for an exit code: the runtime's own codes first (src/contract/machine-exit-codes.ts). */
function meaningOf(code: number): string | undefined {
  const runtime = describeMachineExitCode(code);
  return MEANING[code] ?? (runtime.startsWith('the workload') ? undefined : runtime);
}

/** The machine's process exited non-zero while the row waited for `running`. */
export const bootCrash: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (!machine) return null;
  const exit = latestExit(machine);
  const code = exit?.exitEvent.exit_code;
  if (exit === undefined || code === undefined || code === null || code === 0) return null;
  const meaning = meaningOf(code);
  const { count, overS } = restartsOf(machine);
  return {
    code: 'BOOT_CRASH',
    summary:
      count > 0
        ? `The machine's process keeps exiting with code ${code}${meaning ? `, ${meaning}` : ''}: Fly had restarted it ${count}× in ${overS} s when this was diagnosed.`
        : `The machine's process exited with code ${code}${meaning ? `, ${meaning}` : ''}, before it reported running.`,
    evidence: [...rowEvidence(input), ...restartEvidence(input, machine), ...machineEvidence(input, machine)],
    fix: `Read the machine's logs (fly logs -a ${input.row.fly_app ?? '<app>'} -i ${machine.id}) for the error before exit ${code}, fix it in the image or its configuration, then /vyx destroy ${input.row.machine_id} and /vyx start a new one.`,
    certainty: 'certain',
  };
};
