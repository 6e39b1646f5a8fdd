import { describe, expect, it } from 'vitest';
import type { Diagnosis } from '../../src/diagnose/diagnosis.ts';
import { attachLogEvidence, LOG_FETCHES_PER_TICK } from '../../src/evidence/log-evidence.ts';
import type { FlyLogsClient } from '../../src/fly/logs-client.ts';
import { input, machine } from '../diagnose/fixtures.ts';

const diagnosis = (code: Diagnosis['code']): Diagnosis => ({
  code,
  summary: 'S.',
  evidence: [],
  fix: 'F.',
  certainty: 'likely',
});

describe('attachLogEvidence', () => {
  it('asks only for the codes whose cause is in the output, and at most LOG_FETCHES_PER_TICK a tick', async () => {
    const asked: string[] = [];
    let inFlight = 0;
    let most = 0;
    const logs: FlyLogsClient = {
      async machineLogs(_app, id) {
        asked.push(id);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        return { lines: [{ timestamp: '2026-12-01T10:00:00.000Z', message: `hello from ${id}` }] };
      },
    };
    const found = [
      ...Array.from({ length: 30 }, () => ({
        d: diagnosis('BOOT_CRASH'),
        input: input({ machine: machine() }),
      })),
      { d: diagnosis('IMAGE_TAG_MISSING'), input: input({ machine: machine() }) },
      { d: diagnosis('UNKNOWN'), input: input({ machine: null }) },
    ];
    const { requests } = await attachLogEvidence(found, { logs, defaultApp: 'vyx-app' }, { now: new Date() });
    expect(requests).toBe(LOG_FETCHES_PER_TICK);
    expect(asked).toHaveLength(LOG_FETCHES_PER_TICK);
    expect(most).toBeLessThanOrEqual(4);
    expect(found.slice(0, LOG_FETCHES_PER_TICK).every((f) => f.d.evidence[0]?.source === 'fly logs')).toBe(
      true,
    );
    expect(found.slice(LOG_FETCHES_PER_TICK).every((f) => f.d.evidence.length === 0)).toBe(true);
  });
});
