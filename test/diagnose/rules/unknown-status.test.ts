import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../src/diagnose/diagnose.ts';
import { unknownStatus } from '../../../src/diagnose/rules/unknown-status.ts';
import { input, iso, machine } from '../fixtures.ts';

describe('UNKNOWN_STATUS', () => {
  it('names the word and who wrote it, ahead of what Fly shows', () => {
    const i = input({
      row: {
        status: 'provisioning',
        status_changed_at: iso(900),
        status_written_by: {
          role: 'service_role',
          method: 'PATCH',
          path: '/rest/v1/cloud_machines',
          db_user: 'authenticator',
        },
      },
      machine: machine({ state: 'started' }),
    });
    const d = diagnose(i);
    expect(d.code).toBe('UNKNOWN_STATUS');
    expect(d.summary).toBe(
      'Row vyx-63eea370 says "provisioning", a status vyxbot does not know, written by service_role via PATCH /rest/v1/cloud_machines (db user authenticator).',
    );
    expect(d.evidence.map((e) => `${e.fact}: ${e.value}`)).toEqual(
      expect.arrayContaining([
        'status: "provisioning" for 15 min',
        'known statuses: starting, running, stopping, stopped, failed, destroyed',
      ]),
    );
    expect(d.certainty).toBe('likely');
  });

  it('says the writer is unknown for a row written before vyxbot, and stays silent for known words', () => {
    const d = unknownStatus(input({ row: { status: 'Booting', status_written_by: null } }));
    expect(d?.evidence.find((e) => e.fact === 'written by')?.value).toContain('unknown');
    for (const status of ['starting', 'running', 'stopped', 'failed', 'destroyed', 'stopping']) {
      expect(unknownStatus(input({ row: { status } }))).toBeNull();
    }
  });
});
