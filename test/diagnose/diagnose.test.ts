import { describe, expect, it } from 'vitest';
import { diagnose, RULES } from '../../src/diagnose/diagnose.ts';
import { DIAGNOSIS_CODES } from '../../src/diagnose/diagnosis.ts';
import { events, GOOD_ENV, imageMissing, imageUnknown, input, machine, SECRET_VALUE } from './fixtures.ts';

describe('diagnose: the catalogue in order', () => {
  it('a missing image explains the crash and the destroyed machine that follow it', () => {
    const m = machine({ state: 'destroyed', events: [events.destroy(5), events.exit(6, 1)] });
    expect(diagnose(input({ machine: m, imageCheck: imageMissing() })).code).toBe('IMAGE_TAG_MISSING');
  });

  it('a misnamed variable explains exit 78 and the destroyed machine', () => {
    const { SUPABASE_SERVICE_KEY, ...rest } = GOOD_ENV;
    const m = machine({
      state: 'destroyed',
      env: { ...rest, SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_KEY },
      events: [events.destroy(5), events.exit(6, 78)],
    });
    const d = diagnose(input({ machine: m }));
    expect(d.code).toBe('ENV_MISMATCH');
    expect(JSON.stringify(d)).not.toContain(SECRET_VALUE);
  });

  it("every fact carries its own input's now, whichever Date (and time) came before", () => {
    const at = (now: Date) => {
      const d = diagnose(input({ machine: machine({ state: 'stopped', events: [] }), now }));
      return [...new Set(d.evidence.map((e) => e.at))];
    };
    const now = new Date('2026-12-01T10:00:00.000Z');
    expect(at(now)).toEqual(['2026-12-01T10:00:00.000Z']);
    expect(at(new Date('2026-12-01T10:00:00.000Z'))).toEqual(['2026-12-01T10:00:00.000Z']);
    now.setTime(Date.parse('2026-12-01T11:30:00.000Z'));
    expect(at(now)).toEqual(['2026-12-01T11:30:00.000Z']);
    expect(at(new Date('2026-12-02T00:00:00.001Z'))).toEqual(['2026-12-02T00:00:00.001Z']);
    expect(() => at(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('nothing matched: UNKNOWN with the raw evidence', () => {
    const d = diagnose(
      input({ machine: machine({ state: 'stopped', events: [] }), imageCheck: imageUnknown }),
    );
    expect(d.code).toBe('UNKNOWN');
    expect(d.certainty).toBe('possible');
    expect(d.evidence.map((e) => e.value)).toEqual(
      expect.arrayContaining([
        '3d8d9e1bc42d89 is stopped',
        `unknown, 401: registry answered 401 (registry.fly.io/vyx-app:latest)`,
      ]),
    );
  });

  it('a healthy machine inside the threshold gets UNKNOWN only if asked; no rule fires on it', () => {
    const healthy = input({ machine: machine({ events: [events.start(30)] }) });
    for (const rule of RULES) expect(rule(healthy)).toBeNull();
  });

  it('the first cause leads; the machine’s other configuration faults are named as “also wrong”', () => {
    const { SUPABASE_SERVICE_KEY, MACHINE_ID, ...rest } = GOOD_ENV;
    const m = machine({
      state: 'destroyed',
      env: { ...rest, SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_KEY },
      events: [events.destroy(5)],
    });
    const d = diagnose(input({ machine: m, imageCheck: imageMissing() }));
    expect(d.code).toBe('IMAGE_TAG_MISSING');
    const also = d.evidence.filter((e) => e.fact === 'also wrong').map((e) => e.value);
    expect(also).toEqual([
      expect.stringMatching(/^ENV_MISMATCH: /),
      expect.stringMatching(/^MACHINE_ID_MISMATCH: The machine was started without MACHINE_ID/),
    ]);
    expect(JSON.stringify(d)).not.toContain(SECRET_VALUE);
    // Nothing else wrong: nothing extra.
    const alone = diagnose(input({ machine: machine({ state: 'destroyed' }), imageCheck: imageMissing() }));
    expect(alone.evidence.some((e) => e.fact === 'also wrong')).toBe(false);
  });

  it('every code of the catalogue has a rule or a dedicated function', () => {
    expect(DIAGNOSIS_CODES).toHaveLength(16);
    expect(RULES).toHaveLength(13);
  });
});
