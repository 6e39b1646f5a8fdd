import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUNBOOK_DIR, runbookBaseUrl } from '../../src/app/runbook-url.ts';
import { DIAGNOSIS_CODES } from '../../src/diagnose/diagnosis.ts';
import { diagnosisCard } from '../../src/slack/cards/diagnosis-card.ts';

const CODES = [...DIAGNOSIS_CODES, 'WATCHER_BLIND'] as const;
const SECTIONS = ['What it means', 'Confirm it by hand', 'Fix it', 'Keep it from coming back'];

const card = (code: (typeof CODES)[number], base: string) =>
  diagnosisCard(
    {
      code: code as (typeof DIAGNOSIS_CODES)[number],
      summary: 'summary',
      evidence: [{ fact: 'fact', value: 'value', source: 'fly' }],
      fix: 'fix',
      certainty: 'certain',
    },
    { machineId: 'vyx-00000001', runbookBaseUrl: base },
  );

describe('runbooks', () => {
  it.each(CODES)(
    '%s has a runbook: what it means, how to confirm it by hand, fix it, keep it from coming back',
    (code) => {
      const file = `${RUNBOOK_DIR}${code}.md`;
      expect(existsSync(file), `docs/diagnoses/${code}.md`).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text.startsWith(`# ${code}`)).toBe(true);
      for (const section of SECTIONS) expect(text, `${code}: ## ${section}`).toContain(`## ${section}`);
      const confirm = text.split('## Confirm it by hand')[1]!.split('\n## ')[0]!;
      expect(confirm, `${code}: a fly or SQL command to confirm it`).toMatch(
        /```(sh|bash|sql)[\s\S]*?(fly |curl |select )/i,
      );
    },
  );

  it.each(CODES)('the %s card links its runbook, by default to this checkout’s file', (code) => {
    const base = runbookBaseUrl(undefined);
    expect(base.startsWith('file://')).toBe(true);
    const c = card(code, base);
    const link = `${base}${code}.md`;
    expect(c.text).toContain(link);
    expect(JSON.stringify(c.blocks)).toContain(`<${link}|runbook for ${code}>`);
    expect(existsSync(fileURLToPath(link))).toBe(true);
  });

  it('links to VYX_RUNBOOK_URL when set, with or without its trailing slash', () => {
    for (const configured of [
      'https://github.com/vyx/vyxbot/blob/main/docs/diagnoses',
      'https://github.com/vyx/vyxbot/blob/main/docs/diagnoses/',
    ]) {
      const base = runbookBaseUrl(configured);
      for (const code of CODES) {
        expect(card(code, base).text).toContain(
          `https://github.com/vyx/vyxbot/blob/main/docs/diagnoses/${code}.md`,
        );
      }
    }
  });
});
