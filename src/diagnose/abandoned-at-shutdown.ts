import type { Diagnosis } from './diagnosis.ts';

/**
 * A provisioning given up at shutdown, before Fly said its machine had started: UNKNOWN (nothing
 * went wrong with the machine itself), certain, with the shutdown's reason and what became of the
 * half-made Fly machine.
 */
export function abandonedAtShutdown(input: {
  why: string;
  /** The row's Fly machine id, if the create had been answered. */
  flyMachineId: string | null;
  /** Whether that machine was destroyed. */
  destroyed: boolean;
  now: Date;
}): Diagnosis {
  const at = input.now.toISOString();
  return {
    code: 'UNKNOWN',
    summary:
      'vyxbot was shut down (a deploy or a restart) while it was starting this machine, before Fly said it had started; it gave up on it rather than leave it half-made.',
    evidence: [
      { fact: 'shutdown', value: input.why, source: 'watcher', at },
      {
        fact: 'Fly machine',
        value: input.flyMachineId
          ? `${input.flyMachineId}${input.destroyed ? ' (destroyed)' : ' (could not be destroyed)'}`
          : 'not created yet',
        source: 'fly',
        at,
      },
    ],
    fix: 'Run /vyx start again: a new machine starts from scratch.',
    certainty: 'certain',
  };
}
