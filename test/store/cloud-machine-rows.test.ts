import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cloudMachineRows, stuckRows } from '../../src/store/cloud-machine-rows.ts';
import { cloudMachineSchema, stuckRowSchema } from '../../src/store/store-schemas.ts';

const row = {
  machine_id: 'vyx-1',
  user_id: 'u-1',
  status: 'starting',
  updated_at: '2026-12-01T10:00:00+00:00',
  created_at: '2026-12-01T10:00:00+00:00',
  status_changed_at: '2026-12-01T10:00:00+00:00',
  status_detail: null,
  fly_app: 'vyx-app',
  fly_machine_id: 'e7840',
  region: 'ams',
  image: 'registry.fly.io/vyx-app:latest',
  last_heartbeat_at: null,
  slack_team_id: null,
  slack_channel: 'C1',
  slack_thread_ts: null,
  requested_by: 'U1',
  diagnosis: {
    code: 'RUNTIME_SILENT',
    summary: 's',
    fix: 'f',
    certainty: 'likely',
    at: '2026-12-01T10:01:00Z',
  },
  flagged_at: null,
  lease_owner: 'bot-1',
  lease_until: '2026-12-01T10:02:00+00:00',
  status_written_by: { role: 'service_role', method: 'POST', extra: 'kept' },
};

describe('claimed rows checked without the schema', () => {
  it('gives back what the schema gives back, for rows of its shape', () => {
    const rows = [
      row,
      { ...row, machine_id: 'vyx-2', diagnosis: null, status_written_by: null },
      (({ status_written_by: _, ...r }) => r)({ ...row, machine_id: 'vyx-3' }),
      { ...row, machine_id: 'vyx-4', diagnosis: { code: 'C', summary: 's', fix: 'f', certainty: 'certain' } },
    ];
    const fast = cloudMachineRows(JSON.parse(JSON.stringify(rows)));
    expect(fast).toEqual(z.array(cloudMachineSchema).parse(rows));
  });

  it('leaves to the schema any row it would change or refuse', () => {
    for (const odd of [
      { ...row, new_column: 1 },
      { ...row, diagnosis: { ...row.diagnosis, extra: 1 } },
      { ...row, fly_app: 7 },
      { ...row, status_written_by: { role: 1 } },
      (({ diagnosis: _, ...r }) => r)(row),
      (({ status_written_by: _, ...r }) => ({ ...r, other: null }))(row),
    ])
      expect(cloudMachineRows([row, odd])).toBeUndefined();
    expect(cloudMachineRows({ rows: [row] })).toBeUndefined();
  });
});

describe('claimed stuck rows (the watcher’s columns) checked without the schema', () => {
  const stuck = Object.fromEntries(
    Object.keys(stuckRowSchema.shape).map((k) => [k, row[k as keyof typeof row]]),
  );

  it('gives back what the schema gives back, for rows of its shape', () => {
    const rows = [
      stuck,
      { ...stuck, machine_id: 'vyx-2', status_written_by: null, fly_app: null, image: null },
      (({ status_written_by: _, ...r }: Record<string, unknown>) => r)({ ...stuck, machine_id: 'vyx-3' }),
    ];
    const fast = stuckRows(JSON.parse(JSON.stringify(rows)));
    expect(fast).toEqual(z.array(stuckRowSchema).parse(rows));
  });

  it('leaves to the schema any row it would change or refuse', () => {
    for (const odd of [
      { ...stuck, lease_owner: 'bot-1' },
      { ...stuck, user_id: null },
      { ...stuck, last_heartbeat_at: 5 },
      { ...stuck, status_written_by: { role: 1 } },
      (({ created_at: _, ...r }: Record<string, unknown>) => r)(stuck),
      row,
    ])
      expect(stuckRows([stuck, odd])).toBeUndefined();
    expect(stuckRows({ rows: [stuck] })).toBeUndefined();
  });
});
