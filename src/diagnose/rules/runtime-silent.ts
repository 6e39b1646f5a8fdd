import type { DiagnosisRule } from '../diagnosis.ts';
import { fact, formatDuration, machineEvidence, rowEvidence, secondsSince } from '../evidence.ts';

/**
 * Fly says `started` and nothing above explains it, yet the runtime has reported nothing for
 * longer than the threshold: it is hung, or it cannot reach the database.
 */
export const runtimeSilent: DiagnosisRule = (input) => {
  const machine = input.machine;
  if (machine?.state !== 'started') return null;
  const started = machine.events.find((e) => e.type === 'start' && e.status === 'started')?.timestamp;
  const sinceStart = started === undefined ? undefined : Math.round((input.now.getTime() - started) / 1000);
  if (sinceStart !== undefined && sinceStart < input.stuckAfterS) return null;
  const heartbeat = secondsSince(input.row.last_heartbeat_at, input.now);
  return {
    code: 'RUNTIME_SILENT',
    summary: `The machine is running on Fly${sinceStart === undefined ? '' : ` for ${formatDuration(sinceStart)}`}, but its runtime has not reported a status.`,
    evidence: [
      ...rowEvidence(input),
      fact(
        input,
        'started',
        sinceStart === undefined ? 'no start event listed' : `${formatDuration(sinceStart)} ago`,
        'fly',
      ),
      fact(
        input,
        'last heartbeat',
        heartbeat === undefined ? 'never' : `${formatDuration(heartbeat)} ago`,
        'database',
      ),
      ...machineEvidence(input, machine),
    ],
    fix: `Read the machine's logs (fly logs -a ${input.row.fly_app ?? '<app>'} -i ${machine.id}): the runtime is hung or cannot reach SUPABASE_URL. Restart it (fly machine restart ${machine.id} -a ${input.row.fly_app ?? '<app>'}), or /vyx destroy ${input.row.machine_id} and /vyx start a new one.`,
    certainty: 'likely',
  };
};
