import { z } from 'zod';

/** What `/vyx …` can ask, parsed and validated. Nothing here has side effects. */
export type VyxCommand =
  | { name: 'help' }
  /** `dialog`: typed with no options at all (the start dialog may open instead). */
  | { name: 'start'; region?: string; image?: string; dialog?: true }
  | { name: 'status'; machineId?: string }
  | { name: 'list' }
  | { name: 'destroy'; machineId?: string }
  | { name: 'stop'; machineId?: string }
  | { name: 'restart'; machineId?: string }
  | { name: 'notify'; on: boolean }
  | { name: 'fail'; machineId: string; reason?: string }
  | { name: 'diagnose'; machineId: string }
  | { name: 'logs'; machineId?: string; lines: number }
  | { name: 'link'; slackUserId: string; userId: string; role: 'member' | 'admin' };

export type ParseResult = { ok: true; command: VyxCommand } | { ok: false; problem: string; usage: string };

export const USAGE: Record<VyxCommand['name'], string> = {
  help: '/vyx help',
  start: '/vyx start [--region ams] [--image TAG]',
  status: '/vyx status [machine]',
  list: '/vyx list',
  destroy: '/vyx destroy [machine]',
  stop: '/vyx stop [machine]',
  restart: '/vyx restart [machine]',
  notify: '/vyx notify on|off',
  fail: '/vyx fail <machine> [CODE]',
  diagnose: '/vyx diagnose <machine>',
  logs: '/vyx logs [machine] [--lines 30]',
  link: '/vyx link @user <vyx-user-id> [admin]',
};

export const HELP_LINES: [string, string][] = [
  [USAGE.start, 'start your cloud machine (one at a time)'],
  [USAGE.status, 'show your machine, or the one named'],
  [USAGE.list, 'list your machines (admins: everyone’s)'],
  [USAGE.destroy, 'destroy your machine (asks first; admins may destroy anyone’s)'],
  [USAGE.stop, 'stop your machine on Fly (under a Fly lease)'],
  [USAGE.restart, 'stop and start your machine on Fly (under a Fly lease)'],
  [USAGE.notify, 'a direct message when your machine fails: on (default) or off'],
  [USAGE.fail, 'close a stuck row as failed, where a runbook says to'],
  [USAGE.diagnose, 'explain why a machine is stuck, with the evidence'],
  [USAGE.logs, 'show a machine’s last log lines (secrets scrubbed), privately'],
  [USAGE.link, 'admins: link a Slack user to a vyx user id'],
  [USAGE.help, 'this list'],
];

const machineId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'a machine id looks like vyx-63eea370');
const region = z.string().regex(/^[a-z]{3}$/, 'a Fly region is three lowercase letters, e.g. ams, iad, cdg');
// A tag or a reference: read by the one image parser (src/fly/image-ref.ts) when the command runs,
// with the registry policy; here only its length.
const image = z.string().max(512, 'an image reference is at most 512 characters');
const vyxUserId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$/, 'a vyx user id has no spaces');
/** `/vyx logs --lines`: how many lines, at most LOG_LINES_MAX (Fly's page is 100). */
export const LOG_LINES_DEFAULT = 30;
export const LOG_LINES_MAX = 100;
const logLines = z.coerce
  .number()
  .int('a whole number of lines')
  .min(1, 'at least 1 line')
  .max(LOG_LINES_MAX, `at most ${LOG_LINES_MAX} lines`);
/** Slack escapes a mention as <@U123> or <@U123|name>. */
const mention = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/;

const fail = (name: VyxCommand['name'] | undefined, problem: string): ParseResult => ({
  ok: false,
  problem,
  usage: name ? USAGE[name] : HELP_LINES.map(([u]) => u).join('\n'),
});

/** The options each command takes. */
const OPTIONS: Record<VyxCommand['name'], readonly string[]> = {
  help: [],
  start: ['region', 'image'],
  status: [],
  list: [],
  destroy: [],
  stop: [],
  restart: [],
  notify: [],
  fail: [],
  diagnose: [],
  logs: ['lines'],
  link: [],
};

/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}

/** The word a typo most likely meant: within 2 edits (1 for short words), or a prefix of it. */
function closest<T extends string>(word: string, candidates: readonly T[]): T | undefined {
  if (word.length > 20) return undefined;
  let best: { name: T; d: number } | undefined;
  for (const name of candidates) {
    const d = word.length >= 3 && name.startsWith(word) ? 0 : distance(word, name);
    if (d <= (name.length <= 4 ? 1 : 2) && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** Reads `--flag value` and `--flag=value` pairs; every other word is positional. */
function splitFlags(
  words: string[],
  known: readonly string[],
): { flags: Map<string, string>; positional: string[]; problem?: string } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('--')) {
      positional.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const key = (eq === -1 ? w.slice(2) : w.slice(2, eq)).toLowerCase();
    // An unknown option is named as such, before its value is looked at.
    if (!known.includes(key)) {
      const guess = closest(key, known);
      const takes = known.length > 0 ? known.map((k) => `--${k}`).join(', ') : 'none';
      return {
        flags,
        positional,
        problem: guess
          ? `\`--${key.slice(0, 40)}\` is not an option. Did you mean \`--${guess}\`?`
          : `\`--${key.slice(0, 40)}\` is not an option; this command takes ${takes}`,
      };
    }
    const value = eq === -1 ? words[++i] : w.slice(eq + 1);
    if (value === undefined || value === '' || value.startsWith('--')) {
      return { flags, positional, problem: `--${key} needs a value` };
    }
    if (flags.has(key)) return { flags, positional, problem: `--${key} is given twice` };
    flags.set(key, value);
  }
  return { flags, positional };
}

function check<T>(schema: z.ZodType<T>, value: string, what: string): { value: T } | { problem: string } {
  const r = schema.safeParse(value);
  return r.success
    ? { value: r.data }
    : { problem: `${what} \`${value.slice(0, 80)}\`: ${r.error.issues[0]?.message}` };
}

/** Parses the text after `/vyx`. Bad input gets a problem in words and the usage. */
export function parseCommand(text: string): ParseResult {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [sub, ...rest] = words;
  if (sub === undefined) return { ok: true, command: { name: 'help' } };
  const name = sub.toLowerCase() as VyxCommand['name'];
  // Own properties only: `constructor` or `__proto__` are not commands (Object's prototype has them).
  if (!Object.hasOwn(USAGE, name)) {
    const guess = closest(name, Object.keys(USAGE) as VyxCommand['name'][]);
    return guess
      ? fail(guess, `I don't know \`${sub.slice(0, 40)}\`. Did you mean \`/vyx ${guess}\`?`)
      : fail(undefined, `I don't know \`${sub.slice(0, 40)}\`. These are the commands:`);
  }
  const { flags, positional, problem } = splitFlags(rest, OPTIONS[name]);
  if (problem) return fail(name, problem);
  const maxPositional: Record<VyxCommand['name'], number> = {
    help: 0,
    start: 0,
    status: 1,
    list: 0,
    destroy: 1,
    stop: 1,
    restart: 1,
    notify: 1,
    fail: 2,
    diagnose: 1,
    logs: 1,
    link: 3,
  };
  if (positional.length > maxPositional[name]) {
    return fail(
      name,
      `too many words after \`/vyx ${name}\`: ${positional.slice(maxPositional[name]).join(' ').slice(0, 80)}`,
    );
  }

  switch (name) {
    case 'help':
    case 'list':
      return { ok: true, command: { name } };
    case 'start': {
      const command: VyxCommand = { name: 'start', ...(rest.length === 0 ? { dialog: true as const } : {}) };
      const r = flags.get('region');
      if (r !== undefined) {
        const c = check(region, r, 'region');
        if ('problem' in c) return fail(name, c.problem);
        command.region = c.value;
      }
      const img = flags.get('image');
      if (img !== undefined) {
        const c = check(image, img, 'image');
        if ('problem' in c) return fail(name, c.problem);
        command.image = c.value;
      }
      return { ok: true, command };
    }
    case 'status':
    case 'destroy':
    case 'stop':
    case 'restart': {
      const id = positional[0];
      if (id === undefined) return { ok: true, command: { name } };
      const c = check(machineId, id, 'machine');
      return 'problem' in c ? fail(name, c.problem) : { ok: true, command: { name, machineId: c.value } };
    }
    case 'notify': {
      const word = positional[0]?.toLowerCase();
      if (word !== 'on' && word !== 'off') return fail(name, 'say `on` or `off`');
      return { ok: true, command: { name, on: word === 'on' } };
    }
    case 'fail': {
      const [id, reason] = positional;
      if (id === undefined) return fail(name, 'name the machine to mark failed');
      const c = check(machineId, id, 'machine');
      if ('problem' in c) return fail(name, c.problem);
      if (reason !== undefined && !/^[A-Z][A-Z0-9_]{1,39}$/.test(reason))
        return fail(name, 'the reason is a diagnosis code such as STUCK_TRANSITION');
      return { ok: true, command: { name, machineId: c.value, ...(reason ? { reason } : {}) } };
    }
    case 'diagnose': {
      const id = positional[0];
      if (id === undefined) return fail(name, 'name the machine to diagnose');
      const c = check(machineId, id, 'machine');
      return 'problem' in c ? fail(name, c.problem) : { ok: true, command: { name, machineId: c.value } };
    }
    case 'logs': {
      const id = positional[0];
      const n = flags.get('lines');
      let lines = LOG_LINES_DEFAULT;
      if (n !== undefined) {
        const c = check(logLines, n, '--lines');
        if ('problem' in c) return fail(name, c.problem);
        lines = c.value;
      }
      if (id === undefined) return { ok: true, command: { name, lines } };
      const c = check(machineId, id, 'machine');
      return 'problem' in c
        ? fail(name, c.problem)
        : { ok: true, command: { name, machineId: c.value, lines } };
    }
    case 'link': {
      const [who, userId, role] = positional;
      if (who === undefined || userId === undefined)
        return fail(name, 'name the Slack user (as @mention) and the vyx user id');
      const m = mention.exec(who);
      if (!m) return fail(name, `\`${who.slice(0, 40)}\` is not a Slack @mention`);
      const c = check(vyxUserId, userId, 'vyx user id');
      if ('problem' in c) return fail(name, c.problem);
      if (role !== undefined && role.toLowerCase() !== 'admin')
        return fail(name, `the last word may only be \`admin\`, not \`${role.slice(0, 20)}\``);
      return {
        ok: true,
        command: { name, slackUserId: m[1]!, userId: c.value, role: role ? 'admin' : 'member' },
      };
    }
  }
}
