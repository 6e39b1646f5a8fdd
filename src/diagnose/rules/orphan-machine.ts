import { METADATA_MACHINE_ID, METADATA_USER_ID } from '../../contract/machine-metadata.ts';
import type { Machine } from '../../fly/fly-types.ts';
import type { Diagnosis } from '../diagnosis.ts';

/**
 * A live Fly machine carries our metadata but no row points at it: it costs money and nobody sees
 * it. Its own input (there is no row).
 */
export function orphanMachine(input: { machine: Machine; app: string; now: Date }): Diagnosis | null {
  const { machine, app, now } = input;
  if (!mayBeOrphan(machine)) return null;
  const metadata = machine.config?.metadata ?? {};
  const rowId = metadata[METADATA_MACHINE_ID]!;
  const at = now.toISOString();
  return {
    code: 'ORPHAN_MACHINE',
    summary: `Fly machine ${machine.id} in ${app} says it belongs to ${rowId}, but no row points at it.`,
    evidence: [
      { fact: 'Fly machine', value: `${machine.id} is ${machine.state}`, source: 'fly', at },
      {
        fact: 'metadata',
        value: `${METADATA_MACHINE_ID}=${rowId}${metadata[METADATA_USER_ID] ? `, ${METADATA_USER_ID}=${metadata[METADATA_USER_ID]}` : ''}`,
        source: 'fly',
        at,
      },
      {
        fact: 'row',
        value: `no cloud_machines row has fly_machine_id ${machine.id}`,
        source: 'database',
        at,
      },
      ...(machine.config?.image
        ? [{ fact: 'image', value: machine.config.image, source: 'fly' as const, at }]
        : []),
    ],
    fix: `If nobody needs it, destroy it (fly machine destroy ${machine.id} -a ${app} --force); otherwise link it to its row so the bot can see it (select vyx_attach_fly_machine('${rowId}', '${machine.id}', '${app}'); in SQL).`,
    certainty: 'certain',
  };
}

/**
 * Whether `orphanMachine` would diagnose this machine if no row pointed at it: a live machine with
 * our metadata. Checked for a whole fleet without building a diagnosis per machine.
 */
export function mayBeOrphan(machine: Machine): boolean {
  return machine.config?.metadata?.[METADATA_MACHINE_ID] !== undefined && machine.state !== 'destroyed';
}
