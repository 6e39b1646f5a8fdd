import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, machineEvidence, rowEvidence } from '../evidence.ts';

/**
 * Fly says the machine's host is unreachable (`host_status`): nothing can reach or change the
 * machine until the host returns, whatever its last known state. Fly's advice: recreate it elsewhere.
 */
export const hostUnreachable: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (machine?.host_status !== 'unreachable' || machine.state === 'destroyed') return null;
  const app = input.row.fly_app ?? '<app>';
  return {
    code: 'HOST_UNREACHABLE',
    summary: `Fly cannot reach the host of machine ${machine.id} (host_status unreachable): its last known state, ${machine.state}, may be stale and it cannot be started, stopped or reached until the host returns.`,
    evidence: [
      ...rowEvidence(input),
      fact(input, 'host_status', 'unreachable', 'fly'),
      ...(machine.region ? [fact(input, 'region', machine.region, 'fly')] : []),
      ...machineEvidence(input, machine),
    ],
    fix: `Recreate it elsewhere, as Fly advises: /vyx destroy ${input.row.machine_id} (if Fly cannot destroy it while the host is away: fly machine destroy ${machine.id} -a ${app} --force, and the runbook's step to close the row), then press Retry or /vyx start for a new machine on a healthy host.`,
    certainty: 'likely',
  };
};
