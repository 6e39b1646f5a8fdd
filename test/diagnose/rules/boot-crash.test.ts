import { describe, expect, it } from 'vitest';
import { bootCrash } from '../../../src/diagnose/rules/boot-crash.ts';
import { events, input, machine, recordedExitExample } from '../fixtures.ts';

describe('BOOT_CRASH', () => {
  it('reads the recorded Fly example: exit 127, command not found', () => {
    const d = bootCrash(input({ machine: recordedExitExample() }));
    expect(d?.code).toBe('BOOT_CRASH');
    expect(d?.summary).toContain('exited with code 127, the command was not found');
    expect(d?.evidence.some((e) => e.fact === 'last exit' && e.value.includes('restart count 0'))).toBe(true);
    expect(d?.fix).toContain('fly logs -a vyx-app -i d5683210c7968e');
  });

  it('any non-zero exit; exit 0 or no exit is not a crash', () => {
    expect(
      bootCrash(input({ machine: machine({ state: 'stopped', events: [events.exit(3, 3)] }) }))?.summary,
    ).toContain('code 3');
    expect(
      bootCrash(input({ machine: machine({ state: 'stopped', events: [events.exit(3, 0)] }) })),
    ).toBeNull();
    expect(bootCrash(input())).toBeNull();
  });
});
