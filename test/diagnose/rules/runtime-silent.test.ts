import { describe, expect, it } from 'vitest';
import { runtimeSilent } from '../../../src/diagnose/rules/runtime-silent.ts';
import { events, input, iso, machine } from '../fixtures.ts';

describe('RUNTIME_SILENT', () => {
  it('started on Fly for longer than the threshold, no status from the runtime', () => {
    const d = runtimeSilent(input({ machine: machine({ events: [events.start(150), events.launch(152)] }) }));
    expect(d?.code).toBe('RUNTIME_SILENT');
    expect(d?.summary).toContain('for 3 min');
    const facts = Object.fromEntries(d!.evidence.map((e) => [e.fact, e.value]));
    expect(facts['last heartbeat']).toBe('never');
  });

  it('reports the last heartbeat when there was one', () => {
    const d = runtimeSilent(input({ row: { last_heartbeat_at: iso(95) } }));
    expect(d?.evidence.find((e) => e.fact === 'last heartbeat')?.value).toBe('95 s ago');
  });

  it('no alarm for a machine that started just under the threshold, or is not started', () => {
    expect(runtimeSilent(input({ machine: machine({ events: [events.start(59)] }) }))).toBeNull();
    expect(runtimeSilent(input({ machine: machine({ state: 'stopped' }) }))).toBeNull();
    expect(runtimeSilent(input({ machine: null }))).toBeNull();
  });
});
