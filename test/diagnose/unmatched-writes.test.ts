import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/diagnose/diagnose.ts';
import type { UnmatchedWrite } from '../../src/store/store-schemas.ts';
import { input, iso, machine } from './fixtures.ts';

const write = (secondsAgo: number, extra: Partial<UnmatchedWrite> = {}): UnmatchedWrite => ({
  at: iso(secondsAgo),
  role: 'service_role',
  method: 'PATCH',
  path: '/rest/v1/cloud_machines',
  sub: null,
  machine_id: null,
  db_user: 'authenticator',
  ...extra,
});

describe('status writes that matched no row, as evidence', () => {
  it('counts those since the row entered its status, per writer, on whatever the finding is', () => {
    const d = diagnose(
      input({
        row: { status_changed_at: iso(600) },
        machine: machine({ state: 'started' }),
        unmatchedWrites: [
          write(30),
          write(60),
          write(90),
          write(700),
          write(45, { role: 'anon', method: 'PATCH' }),
        ],
      }),
    );
    const facts = d.evidence
      .filter((e) => e.fact === 'status writes that matched no row')
      .map((e) => e.value);
    expect(facts).toEqual([
      `3 status updates from service_role (PATCH /rest/v1/cloud_machines) matched no row since ${iso(90).slice(11, 16)} UTC`,
      `1 status update from anon (PATCH /rest/v1/cloud_machines) matched no row since ${iso(45).slice(11, 16)} UTC`,
    ]);
  });

  it('says nothing when there were none (or none since the row entered its status)', () => {
    const d = diagnose(input({ row: { status_changed_at: iso(60) }, unmatchedWrites: [write(600)] }));
    expect(d.evidence.some((e) => e.fact === 'status writes that matched no row')).toBe(false);
  });
});
