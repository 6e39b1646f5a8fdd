import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/diagnose/diagnose.ts';
import { indexMachines, matchMachine } from '../../src/evidence/match-machine.ts';
import type { Machine } from '../../src/fly/fly-types.ts';
import { GOOD_ENV, input, machine } from '../diagnose/fixtures.ts';

const USER = '63eea370-0000-4000-8000-000000000001';
const row = (machine_id: string, fly_machine_id: string | null = null, user_id = USER) => ({
  machine_id,
  user_id,
  fly_machine_id,
});
/** A Fly machine as the list answers it, with its own id, name, env and metadata. */
function fly(o: {
  id: string;
  name?: string;
  env?: Record<string, string>;
  metadata?: Record<string, string>;
  state?: string;
  created_ago?: number;
}): Machine {
  const m = machine({
    env: o.env ?? {},
    metadata: o.metadata ?? {},
    ...(o.state ? { state: o.state } : {}),
    ...(o.created_ago ? { created_ago: o.created_ago } : {}),
  });
  return { ...m, id: o.id, name: o.name ?? `random-name-${o.id}` };
}

describe('finding the machine of a row', () => {
  it('incident 000’s shape: no Fly id on the row, the machine up as machine_<ts> with the right USER_ID → MACHINE_ID_MISMATCH naming both ids and the key', () => {
    const env = { ...GOOD_ENV, USER_ID: USER, MACHINE_ID: 'machine_1759437443245' };
    // The edge function named the machine after the row.
    const named = fly({ id: '7819752a92d138', name: 'vyx-63eea370', env });
    const byName = matchMachine(row('vyx-63eea370'), [named]);
    expect(byName).toMatchObject({ by: 'name', machine: { id: '7819752a92d138' } });
    // Without the name (a hand-made machine): the USER_ID key still finds it — even though it has a MACHINE_ID.
    const unnamed = fly({ id: '7819752a92d138', env });
    const byUser = matchMachine(row('vyx-63eea370'), [unnamed]);
    expect(byUser?.by).toBe('env_user_id');

    for (const [found, how] of [
      [byName!, "the machine's name (vyx-63eea370)"],
      [byUser!, `env USER_ID=${USER} (no stronger key matched)`],
    ] as const) {
      const d = diagnose(
        input({
          row: { fly_machine_id: null, user_id: USER },
          machine: found.machine,
          matchedBy: found.by,
        }),
      );
      expect(d.code).toBe('MACHINE_ID_MISMATCH');
      expect(d.summary).toContain('MACHINE_ID=machine_1759437443245, not vyx-63eea370');
      const facts = Object.fromEntries(d.evidence.map((e) => [e.fact, e.value]));
      expect(facts['row machine_id']).toBe('vyx-63eea370');
      expect(facts['MACHINE_ID in config.env']).toBe('machine_1759437443245');
      expect(facts['Fly machine id']).toBe('7819752a92d138 (row has none)');
      expect(facts['matched by']).toBe(how);
    }
  });

  it('keys in order of strength: Fly id, metadata, name, env MACHINE_ID, env USER_ID', () => {
    const ms = [
      fly({ id: 'u', env: { USER_ID: USER } }),
      fly({ id: 'e', env: { MACHINE_ID: 'vyx-a' } }),
      fly({ id: 'n', name: 'vyx-a' }),
      fly({ id: 'm', metadata: { vyx_machine_id: 'vyx-a' } }),
      fly({ id: 'f' }),
    ];
    const by = (list: Machine[], r = row('vyx-a')) => {
      const f = matchMachine(r, list);
      return f ? `${f.by}:${f.machine.id}` : null;
    };
    expect(by(ms, row('vyx-a', 'f'))).toBe('fly_machine_id:f');
    expect(by(ms)).toBe('metadata:m');
    expect(by(ms.slice(0, 3))).toBe('name:n');
    expect(by(ms.slice(0, 2))).toBe('env_machine_id:e');
    expect(by(ms.slice(0, 1))).toBe('env_user_id:u');
    expect(by([])).toBeNull();
    // A recorded Fly id that Fly does not list is that machine gone, not someone else's machine.
    expect(by(ms, row('vyx-a', 'gone'))).toBeNull();
  });

  it('USER_ID never takes a machine another row owns: vyxbot metadata for another row, or one a stronger key gave away', () => {
    const theirs = fly({ id: 'other', env: { USER_ID: USER }, metadata: { vyx_machine_id: 'vyx-b' } });
    expect(matchMachine(row('vyx-a'), [theirs])).toBeNull();

    const named = fly({ id: 'nb', name: 'vyx-b', env: { USER_ID: USER, MACHINE_ID: 'machine_1' } });
    const [a, b] = indexMachines([named]).matchAll([row('vyx-a'), row('vyx-b')]);
    expect(a).toBeNull();
    expect(b).toMatchObject({ by: 'name', machine: { id: 'nb' } });

    // Live before destroyed, newest first.
    const old = fly({ id: 'old', env: { USER_ID: USER }, created_ago: 900 });
    const dead = fly({ id: 'dead', env: { USER_ID: USER }, state: 'destroyed', created_ago: 5 });
    const fresh = fly({ id: 'fresh', env: { USER_ID: USER }, created_ago: 50 });
    expect(matchMachine(row('vyx-a'), [old, dead, fresh])?.machine.id).toBe('fresh');
    expect(matchMachine(row('vyx-a'), [old, dead])?.machine.id).toBe('old');
  });
});
