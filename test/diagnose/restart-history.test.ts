import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/diagnose/diagnose.ts';
import { crashLooping, describeExit, restartsOf } from '../../src/diagnose/restart-history.ts';
import { events, input, machine, NOW } from './fixtures.ts';

/** A machine Fly restarted `n` times after exit `code`, 7 s apart, newest first, the last `agoS` ago. */
function looping(n: number, code: number, agoS = 5, extra: Record<string, unknown> = {}) {
  const list: unknown[] = [];
  for (let i = 0; i <= n; i++) {
    const at = agoS + 7 * i;
    list.push(
      {
        ...events.exit(at, code, { restarting: i > 0, ...extra }),
        request: {
          exit_event: {
            exit_code: code,
            oom_killed: false,
            requested_stop: false,
            restarting: i > 0,
            ...extra,
          },
          restart_count: n - i,
        },
      },
      events.start(at + 3),
    );
  }
  return machine({ state: 'started', events: list });
}

describe('restart history: crash loops as flyctl sees them', () => {
  it('counts the restarts and the time they span', () => {
    expect(restartsOf(looping(5, 137))).toEqual({ count: 5, overS: 35 });
    expect(restartsOf(machine())).toEqual({ count: 0, overS: 0 });
  });

  it('a loop is two or more restarts after unrequested non-zero exits, the newest recent', () => {
    expect(crashLooping(looping(2, 1), NOW)).toBe(true);
    expect(crashLooping(looping(1, 1), NOW)).toBe(false);
    expect(crashLooping(looping(5, 0), NOW)).toBe(false);
    expect(crashLooping(looping(5, 1, 5, { requested_stop: true }), NOW)).toBe(false);
    // It crashed five times an hour ago and has run since: the loop is over.
    expect(crashLooping(looping(5, 1, 3600), NOW)).toBe(false);
    expect(crashLooping({ ...looping(5, 1), state: 'destroyed' }, NOW)).toBe(false);
  });

  it('an unrequested SIGKILL after start with a memory limit is OOM_KILLED (likely), with the count and the exits', () => {
    const d = diagnose(input({ machine: looping(5, 137), row: { status: 'running' } }));
    expect(d.code).toBe('OOM_KILLED');
    expect(d.certainty).toBe('likely');
    expect(d.summary).toContain(
      'killed by SIGKILL after it started, and nobody asked for it: with a 256 MB memory limit',
    );
    expect(d.summary).toContain('Fly had restarted it 5× in 35 s');
    const facts = Object.fromEntries(d.evidence.map((e) => [e.fact, e.value]));
    expect(facts.restarts).toMatch(/^restarted 5× in 35 s \(restart policy /);
    expect(facts['exit events']).toContain('exit 137 (SIGKILL, not requested)');
    expect(facts['memory limit']).toBe('256 MB (guest.memory_mb)');
  });

  it('a loop of ordinary exits is BOOT_CRASH with the count; a requested kill is not an OOM', () => {
    const d = diagnose(input({ machine: looping(3, 1) }));
    expect(d.code).toBe('BOOT_CRASH');
    expect(d.summary).toContain('keeps exiting with code 1');
    expect(d.summary).toContain('Fly had restarted it 3× in 21 s');
    expect(describeExit({ exit_code: 137, requested_stop: true })).toBe('exit 137 (SIGKILL, requested)');
  });
});
