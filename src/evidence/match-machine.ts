import { METADATA_MACHINE_ID } from '../contract/machine-metadata.ts';
import type { MachineMatch } from '../diagnose/diagnosis.ts';
import type { Machine } from '../fly/fly-types.ts';
import { CREATE_KEY_METADATA } from '../fly/machines-client.ts';
import type { CloudMachine } from '../store/store-schemas.ts';

export type MatchableRow = Pick<CloudMachine, 'machine_id' | 'user_id' | 'fly_machine_id'>;
export interface MachineFound {
  machine: Machine;
  by: MachineMatch;
}

/**
 * The machine a row owns for certain — to link it after a crash, or to destroy it: the recorded Fly
 * id, else the provisioning's create key (metadata `vyx_create_key`), else vyxbot's metadata, the
 * name or env `MACHINE_ID`. Never USER_ID: too weak to act on. Live machines before destroyed ones.
 */
export function ownMachineOf(
  row: MatchableRow,
  machines: Machine[],
  createKey?: string,
): MachineFound | null {
  const live = [...machines].sort(
    (a, b) => Number(a.state === 'destroyed') - Number(b.state === 'destroyed'),
  );
  if (row.fly_machine_id) {
    const m = live.find((x) => x.id === row.fly_machine_id);
    return m ? { machine: m, by: 'fly_machine_id' } : null;
  }
  const keys: [MachineMatch, (m: Machine) => boolean][] = [
    ['create_key', (m) => createKey !== undefined && m.config?.metadata[CREATE_KEY_METADATA] === createKey],
    ['metadata', (m) => m.config?.metadata[METADATA_MACHINE_ID] === row.machine_id],
    ['name', (m) => m.name === row.machine_id],
    ['env_machine_id', (m) => m.config?.env.MACHINE_ID === row.machine_id],
  ];
  for (const [by, test] of keys) {
    const m = live.find(test);
    if (m) return { machine: m, by };
  }
  return null;
}

/** Ties one row to the machine behind it (see `indexMachines`). */
export function matchMachine(row: MatchableRow, machines: Machine[]): MachineFound | null {
  return indexMachines(machines).matchAll([row])[0] ?? null;
}

/**
 * Ties rows to the Fly machines of one app by every honest key, strongest first: the recorded Fly
 * id; vyxbot's metadata; the machine's name (the platform's edge function names machines after
 * the row); env `MACHINE_ID`; env `USER_ID`. A row with a recorded Fly id is matched by that id
 * only — the row says which machine is its own. USER_ID is the weakest key: it only picks machines
 * no other key ties to another row (not taken by a stronger key in this batch, no vyxbot metadata
 * naming another row), live before destroyed, newest first. The list is indexed once, not searched
 * once per row.
 */
export interface MachineIndex {
  /**
   * Matches a batch of rows. Machines taken by one call stay taken for the next (a watcher tick
   * matches an app's rows page by page); one call with every row is the one-batch match.
   */
  matchAll(rows: MatchableRow[]): (MachineFound | null)[];
}

export function indexMachines(machines: Machine[]): MachineIndex {
  const byId = new Map<string, Machine>();
  const byMeta = new Map<string, Machine>();
  const byName = new Map<string, Machine>();
  const byEnv = new Map<string, Machine>();
  const byUser = new Map<string, Machine[]>();
  const first = (map: Map<string, Machine>, key: string | undefined, m: Machine) => {
    if (key !== undefined && key !== '' && !map.has(key)) map.set(key, m);
  };
  for (const m of machines) {
    first(byId, m.id, m);
    first(byMeta, m.config?.metadata[METADATA_MACHINE_ID], m);
    first(byName, m.name, m);
    first(byEnv, m.config?.env.MACHINE_ID, m);
    const user = m.config?.env.USER_ID;
    if (user) byUser.set(user, [...(byUser.get(user) ?? []), m]);
  }
  const rank = (m: Machine) => `${m.state === 'destroyed' ? 0 : 1}${m.created_at ?? ''}`;
  for (const list of byUser.values()) list.sort((a, b) => rank(b).localeCompare(rank(a)));

  const strong = (row: MatchableRow): MachineFound | null => {
    if (row.fly_machine_id) {
      const m = byId.get(row.fly_machine_id);
      return m ? { machine: m, by: 'fly_machine_id' } : null;
    }
    const keys: [Map<string, Machine>, MachineMatch][] = [
      [byMeta, 'metadata'],
      [byName, 'name'],
      [byEnv, 'env_machine_id'],
    ];
    for (const [map, by] of keys) {
      const m = map.get(row.machine_id);
      if (m) return { machine: m, by };
    }
    return null;
  };

  const taken = new Set<string>();
  return {
    matchAll(rows) {
      const found = rows.map(strong);
      for (const f of found) if (f) taken.add(f.machine.id);
      const rowIds = new Set(rows.map((r) => r.machine_id));
      return rows.map((row, i) => {
        if (found[i] || row.fly_machine_id) return found[i] ?? null;
        const candidates = byUser.get(String(row.user_id)) ?? [];
        const m = candidates.find((c) => {
          if (taken.has(c.id)) return false;
          const meta = c.config?.metadata[METADATA_MACHINE_ID];
          if (meta !== undefined && meta !== row.machine_id) return false;
          // Named after, or booted as, another row of this batch: that row's machine, not this one's.
          return ![c.name, c.config?.env.MACHINE_ID].some((k) => k && k !== row.machine_id && rowIds.has(k));
        });
        if (!m) return null;
        taken.add(m.id);
        return { machine: m, by: 'env_user_id' };
      });
    },
  };
}
