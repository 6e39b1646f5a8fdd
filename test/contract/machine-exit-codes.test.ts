import { describe, expect, it } from 'vitest';
import { describeMachineExitCode, MACHINE_EXIT_CODES } from '../../src/contract/machine-exit-codes.ts';

describe('machine exit codes', () => {
  it('are distinct and each has its own meaning in words', () => {
    const codes = Object.values(MACHINE_EXIT_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    const meanings = codes.map(describeMachineExitCode);
    expect(new Set(meanings).size).toBe(codes.length);
    expect(describeMachineExitCode(78)).toContain('invalid environment');
    expect(describeMachineExitCode(67)).toContain('MACHINE_ID');
  });

  it('reads other codes as the workload’s', () => {
    expect(describeMachineExitCode(3)).toBe('the workload exited with code 3');
    expect(describeMachineExitCode(137)).toBe('the workload was killed by signal 9');
  });
});
