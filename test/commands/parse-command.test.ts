import { describe, expect, it } from 'vitest';
import { HELP_LINES, parseCommand, USAGE } from '../../src/commands/parse-command.ts';

const parsed = (text: string) => {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`refused ${text}: ${r.problem}`);
  return r.command;
};

const refusal = (text: string) => {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`accepted ${text}`);
  return r;
};

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

  it('no words, blanks or `help` in any case is help', () => {
    for (const text of ['', '   ', '\t\n', 'help', 'HELP', ' Help '])
      expect(parsed(text)).toEqual({ name: 'help' });
  });

  it('`help` with words after it is refused, not taken as help', () => {
    expect(refusal('help me')).toEqual({
      ok: false,
      problem: 'too many words after `/vyx help`: me',
      usage: USAGE.help,
    });
    expect(problem('help --verbose')).toContain('`--verbose` is not an option');
  });

  it('a likely typo of an option gets "did you mean" that option', () => {
    expect(refusal('start --regoin ams')).toEqual({
      ok: false,
      problem: '`--regoin` is not an option. Did you mean `--region`?',
      usage: USAGE.start,
    });
    expect(problem('start --imgae=v2')).toBe('`--imgae` is not an option. Did you mean `--image`?');
    expect(problem('start --reg ams')).toBe('`--reg` is not an option. Did you mean `--region`?');
    expect(problem('logs vyx-1 --line 5')).toBe('`--line` is not an option. Did you mean `--lines`?');
    // Nothing close: the options the command takes are listed instead.
    expect(problem('start --colour red')).toBe(
      '`--colour` is not an option; this command takes --region, --image',
    );
  });

  it('every command refuses one word more than it takes', () => {
    // Each command's longest accepted form, then the same with one more word.
    const longest: Record<keyof typeof USAGE, string> = {
      help: 'help',
      start: 'start --region ams --image v2',
      status: 'status vyx-1',
      list: 'list',
      destroy: 'destroy vyx-1',
      stop: 'stop vyx-1',
      restart: 'restart vyx-1',
      notify: 'notify off',
      fail: 'fail vyx-1 STUCK_TRANSITION',
      diagnose: 'diagnose vyx-1',
      logs: 'logs vyx-1 --lines 5',
      link: 'link <@U123ABC> user-7 admin',
    };
    for (const [name, text] of Object.entries(longest)) {
      expect(parsed(text).name).toBe(name);
      expect(problem(`${text} extra`)).toBe(`too many words after \`/vyx ${name}\`: extra`);
    }
  });

  it('each command in its plain form, the name in any case, words split on any whitespace', () => {
    expect(parsed('list')).toEqual({ name: 'list' });
    expect(parsed('LIST')).toEqual({ name: 'list' });
    // No options at all: the start dialog may open instead (VYX_START_DIALOG).
    expect(parsed('start')).toEqual({ name: 'start', dialog: true });
    expect(parsed('status')).toEqual({ name: 'status' });
    expect(parsed('status vyx-63eea370')).toEqual({ name: 'status', machineId: 'vyx-63eea370' });
    expect(parsed('destroy')).toEqual({ name: 'destroy' });
    expect(parsed('  Destroy \t vyx-63eea370 ')).toEqual({ name: 'destroy', machineId: 'vyx-63eea370' });
    expect(parsed('diagnose vyx_1-a')).toEqual({ name: 'diagnose', machineId: 'vyx_1-a' });
    expect(parsed('start\t--region\nams')).toEqual({ name: 'start', region: 'ams' });
  });

  it('options as `--flag value` or `--flag=value`, the flag in any case, in any order', () => {
    expect(parsed('start --REGION=ams')).toEqual({ name: 'start', region: 'ams' });
    expect(parsed('start --image=registry.fly.io/vyx-app:v2 --region cdg')).toEqual({
      name: 'start',
      region: 'cdg',
      image: 'registry.fly.io/vyx-app:v2',
    });
    // A flag followed by another flag has no value (the next flag is not taken as one).
    expect(problem('start --region --image x')).toBe('--region needs a value');
  });

  it('a refusal carries the usage of the command it was about, or every usage when none is known', () => {
    expect(refusal('status bad/id').usage).toBe(USAGE.status);
    expect(refusal('stauts').usage).toBe(USAGE.status);
    expect(refusal('xyzzy')).toEqual({
      ok: false,
      problem: "I don't know `xyzzy`. These are the commands:",
      usage: HELP_LINES.map(([u]) => u).join('\n'),
    });
  });

  it('more words than a command takes are named, not ignored', () => {
    expect(refusal('list extra')).toEqual({
      ok: false,
      problem: 'too many words after `/vyx list`: extra',
      usage: USAGE.list,
    });
    expect(problem('start extra')).toBe('too many words after `/vyx start`: extra');
    expect(problem('status vyx-1 vyx-2')).toBe('too many words after `/vyx status`: vyx-2');
    expect(problem('link <@U123ABC> user-7 admin more')).toContain('too many words');
  });

  it('machine ids: a letter or digit first, then letters, digits, `_` and `-`, at most 64', () => {
    expect(problem('status bad/id')).toBe('machine `bad/id`: a machine id looks like vyx-63eea370');
    expect(problem('destroy -x')).toContain('a machine id looks like');
    expect(problem("diagnose x';drop")).toContain('a machine id looks like');
    expect(parsed(`status ${'a'.repeat(64)}`)).toEqual({ name: 'status', machineId: 'a'.repeat(64) });
    expect(problem(`status ${'a'.repeat(65)}`)).toContain('a machine id looks like');
    expect(problem('diagnose')).toBe('name the machine to diagnose');
  });

  it('link: a Slack mention, a vyx user id and an optional `admin`', () => {
    expect(parsed('link <@U123ABC> user-7')).toEqual({
      name: 'link',
      slackUserId: 'U123ABC',
      userId: 'user-7',
      role: 'member',
    });
    expect(parsed('link <@W123ABC|alice> alice@example.com ADMIN')).toEqual({
      name: 'link',
      slackUserId: 'W123ABC',
      userId: 'alice@example.com',
      role: 'admin',
    });
    expect(problem('link <@U123ABC> user-7 owner')).toBe('the last word may only be `admin`, not `owner`');
    expect(problem('link alice user-7')).toBe('`alice` is not a Slack @mention');
    expect(problem('link <#C123ABC> user-7')).toBe('`<#C123ABC>` is not a Slack @mention');
    expect(problem('link <@U123ABC>')).toBe('name the Slack user (as @mention) and the vyx user id');
    expect(problem('link')).toBe('name the Slack user (as @mention) and the vyx user id');
    expect(problem('link <@U123ABC> "x')).toContain('a vyx user id has no spaces');
  });

  it('what a refusal quotes back is cut short (a 3,000-character word is not echoed whole)', () => {
    const long = 'q'.repeat(3000);
    expect(problem(long)).toBe(`I don't know \`${'q'.repeat(40)}\`. These are the commands:`);
    expect(problem(`start --${long}`).length).toBeLessThan(200);
    expect(problem(`status ${long}`).length).toBeLessThan(200);
    expect(problem(`link ${long} u`).length).toBeLessThan(200);
  });
});
