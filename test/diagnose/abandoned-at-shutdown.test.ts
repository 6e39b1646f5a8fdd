import { describe, expect, it } from 'vitest';
import { abandonedAtShutdown } from '../../src/diagnose/abandoned-at-shutdown.ts';

const now = new Date('2026-03-01T12:00:00Z');

describe('a provisioning given up at shutdown', () => {
  it('certain UNKNOWN with the shutdown reason and what became of the half-made machine', () => {
    const d = abandonedAtShutdown({ why: 'SIGTERM', flyMachineId: 'e784', destroyed: true, now });
    expect(d.code).toBe('UNKNOWN');
    expect(d.certainty).toBe('certain');
    expect(d.summary).toContain('shut down');
    expect(Object.fromEntries(d.evidence.map((e) => [e.fact, e.value]))).toEqual({
      shutdown: 'SIGTERM',
      'Fly machine': 'e784 (destroyed)',
    });
    expect(d.fix).toContain('/vyx start');
  });

  it('says when the machine could not be destroyed, or was never made', () => {
    const kept = abandonedAtShutdown({ why: 'SIGTERM', flyMachineId: 'e784', destroyed: false, now });
    expect(kept.evidence[1]!.value).toBe('e784 (could not be destroyed)');
    const none = abandonedAtShutdown({ why: 'SIGTERM', flyMachineId: null, destroyed: false, now });
    expect(none.evidence[1]!.value).toBe('not created yet');
  });
});
