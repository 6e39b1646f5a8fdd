import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/commands/parse-command.ts';

const problem = (text: string) => {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`accepted ${text}`);
  return r.problem;
};

describe('parseCommand', () => {
  it('names on Object’s prototype are not commands', () => {
    for (const name of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'isPrototypeOf',
    ]) {
      expect(problem(name)).toContain("I don't know");
    }
  });

  it('a likely typo of a command gets "did you mean"', () => {
    expect(problem('stauts')).toContain('Did you mean `/vyx status`?');
    expect(problem('strat')).toContain('Did you mean `/vyx start`?');
    expect(problem('destory vyx-1')).toContain('Did you mean `/vyx destroy`?');
    expect(problem('lst')).toContain('Did you mean `/vyx list`?');
    expect(problem('diag')).toContain('Did you mean `/vyx diagnose`?');
    expect(problem('xyzzy')).not.toContain('Did you mean');
    expect(problem('s')).not.toContain('Did you mean');
  });

  it('an unknown option is named as unknown, never "needs a value"', () => {
    expect(problem('start --foo')).toBe('`--foo` is not an option; this command takes --region, --image');
    expect(problem('start --foo bar')).toContain('`--foo` is not an option');
    expect(problem('status --region ams')).toContain('`--region` is not an option; this command takes none');
    expect(problem('start --region')).toBe('--region needs a value');
    expect(problem('start --region=')).toBe('--region needs a value');
    expect(problem('start --image v1 --image v2')).toBe('--image is given twice');
  });

  it('regions are three lowercase letters (Fly’s list is checked when the command runs)', () => {
    expect(parseCommand('start --region xyz')).toEqual({
      ok: true,
      command: { name: 'start', region: 'xyz' },
    });
    expect(problem('start --region Amsterdam')).toContain('three lowercase letters');
  });

  it('the image is kept as given for the one image parser, up to 512 characters', () => {
    expect(parseCommand('start --image ../../etc')).toEqual({
      ok: true,
      command: { name: 'start', image: '../../etc' },
    });
    expect(problem(`start --image ${'a'.repeat(513)}`)).toContain('at most 512');
  });
});
