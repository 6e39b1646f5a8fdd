import { describe, expect, it } from 'vitest';
import { oomKilled } from '../../../src/diagnose/rules/oom-killed.ts';
import { events, input, machine } from '../fixtures.ts';

describe('OOM_KILLED', () => {
  it('the newest exit says oom_killed', () => {
    const m = machine({
      state: 'stopped',
      memory_mb: 256,
      events: [events.exit(5, 137, { oom_killed: true }), events.start(30)],
    });
    const d = oomKilled(input({ machine: m }));
    expect(d?.code).toBe('OOM_KILLED');
    expect(d?.summary).toContain('256 MB');
    expect(d?.evidence.some((e) => e.value.includes('OOM-killed'))).toBe(true);
  });

  it('says nothing for an ordinary exit or a running machine', () => {
    expect(oomKilled(input({ machine: machine({ events: [events.exit(5, 1)] }) }))).toBeNull();
    expect(oomKilled(input())).toBeNull();
  });
});
