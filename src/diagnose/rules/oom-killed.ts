import { latestExit } from '../../fly/fly-types.ts';
import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, rowEvidence } from '../evidence.ts';
import { describeExit, restartEvidence, restartsOf } from '../restart-history.ts';

/**
 * The kernel killed the machine's process for running out of memory: Fly's exit event says
 * `oom_killed` (certain), or the process got a SIGKILL (exit 137) nobody asked for after the
 * machine had started, on a machine with a memory limit — how an OOM kill of the workload inside
 * looks from outside (likely).
 */
export const oomKilled: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (!machine) return null;
  const exit = latestExit(machine);
  if (!exit) return null;
  const e = exit.exitEvent;
  const memory = machine.config?.guest?.memory_mb;
  const startedBefore = machine.events.some(
    (ev) => ev.type === 'start' && ev.status === 'started' && ev.timestamp <= exit.timestamp,
  );
  const unrequestedKill = !e.requested_stop && (e.signal === 9 || e.exit_code === 137);
  const certain = e.oom_killed === true;
  if (!certain && !(unrequestedKill && startedBefore && memory !== undefined)) return null;
  const { count, overS } = restartsOf(machine);
  const restarted = count > 0 ? ` Fly had restarted it ${count}× in ${overS} s when this was diagnosed.` : '';
  return {
    code: 'OOM_KILLED',
    summary: certain
      ? `The machine ran out of memory${memory ? ` (${memory} MB)` : ''} and was killed.${restarted}`
      : `The machine's process was killed by SIGKILL after it started, and nobody asked for it: with a ${memory} MB memory limit, most likely the out-of-memory killer.${restarted}`,
    evidence: [
      ...rowEvidence(input),
      ...(certain ? [] : [fact(input, 'kill', `${describeExit(e)} after the machine started`, 'fly')]),
      ...(memory !== undefined ? [fact(input, 'memory limit', `${memory} MB (guest.memory_mb)`, 'fly')] : []),
      ...restartEvidence(input, machine),
      ...machineEvidence(input, machine),
    ],
    fix: `Give machines more memory (guest.memory_mb in the create call, multiples of 256) or make the workload use less — its logs show what grew (fly logs -a ${input.row.fly_app ?? '<app>'} -i ${machine.id}); then /vyx destroy ${input.row.machine_id} and /vyx start a new one.`,
    certainty: certain ? 'certain' : 'likely',
  };
};
