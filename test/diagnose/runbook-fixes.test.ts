import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUNBOOK_DIR } from '../../src/app/runbook-url.ts';
import { DIAGNOSIS_CODES } from '../../src/diagnose/diagnosis.ts';

const CODES = [...DIAGNOSIS_CODES, 'WATCHER_BLIND'];
const COMMAND = /`(\/vyx [a-z]|fly [a-z]|select vyx_|curl |supabase |printf )/;

// Issue 14.5: a runbook's fix can be carried out — every step names a command or an exact outside
// step — and never asks for something no command does ("mark this machine failed").
describe.each(CODES)('the %s runbook’s fix', (code) => {
  const text = readFileSync(`${RUNBOOK_DIR}${code}.md`, 'utf8');
  const fix = text.split('## Fix it')[1]!.split('\n## ')[0]!;
  const steps = fix.split(/\n(?=\d+\. |- )/).filter((s) => /^(\d+\. |- )/.test(s.trim()));

  it('has steps, and the fix as a whole names commands', () => {
    expect(steps.length).toBeGreaterThan(0);
    expect(fix).toMatch(COMMAND);
  });

  it('never asks to mark a machine failed without the command that does it', () => {
    for (const step of steps) {
      if (/mark (this|the) (machine|row) failed/i.test(step))
        expect(step, step).toMatch(/select vyx_report_status/);
    }
  });
});
