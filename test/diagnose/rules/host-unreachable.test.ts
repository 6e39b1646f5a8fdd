import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../src/diagnose/diagnose.ts';
import { hostUnreachable } from '../../../src/diagnose/rules/host-unreachable.ts';
import { input, machine } from '../fixtures.ts';

describe('HOST_UNREACHABLE', () => {
  it("Fly's host_status unreachable: its own diagnosis, with Fly's advice to recreate elsewhere", () => {
    const d = diagnose(input({ machine: machine({ state: 'started', host_status: 'unreachable' }) }));
    expect(d.code).toBe('HOST_UNREACHABLE');
    expect(d.summary).toContain('host_status unreachable');
    expect(d.evidence).toContainEqual(expect.objectContaining({ fact: 'host_status', value: 'unreachable' }));
    expect(d.fix).toMatch(/Recreate it elsewhere/);
    expect(d.fix).toMatch(/\/vyx destroy vyx-63eea370 .*then press Retry/);
    expect(d.certainty).toBe('likely');
  });

  it('outranks the rules that trust a state the host can no longer confirm', () => {
    // Started long ago, never reported: RUNTIME_SILENT — unless the host is unreachable.
    const silent = { state: 'started', created_ago: 3600 };
    expect(diagnose(input({ machine: machine(silent) })).code).not.toBe('HOST_UNREACHABLE');
    expect(diagnose(input({ machine: machine({ ...silent, host_status: 'unreachable' }) })).code).toBe(
      'HOST_UNREACHABLE',
    );
  });

  it('not for a healthy or unknown host, nor a destroyed machine, nor no machine', () => {
    expect(hostUnreachable(input({ machine: machine({ host_status: 'ok' }) }))).toBeNull();
    expect(hostUnreachable(input({ machine: machine({ host_status: 'unknown' }) }))).toBeNull();
    expect(
      hostUnreachable(input({ machine: machine({ state: 'destroyed', host_status: 'unreachable' }) })),
    ).toBeNull();
    expect(hostUnreachable(input({ machine: null }))).toBeNull();
  });
});
