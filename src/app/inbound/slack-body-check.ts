/**
 * What a signed Slack request body must look like before Bolt reads it. Bolt 5.1.0 trusts the
 * shape: a JSON body `null` makes its HTTPReceiver read `.ssl_check` of null (an unhandled
 * rejection that ends the process), a duplicated form field becomes an array
 * (`text.trim is not a function`). Slack itself never sends either, so they are refused (400).
 */
export type BodyCheck =
  | { ok: true; kind: 'command' | 'interaction' | 'event' | 'ssl_check' }
  | { ok: false; problem: string; teamId?: string; userId?: string };

const FORM = 'application/x-www-form-urlencoded';
/** Slash-command fields our handlers read; each must be present once, as text. */
const COMMAND_FIELDS = ['command', 'text', 'team_id', 'user_id', 'channel_id', 'response_url'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `contentType` as Bolt compares it: exactly the form type, or anything else read as JSON. */
export function checkSlackBody(contentType: string | undefined, raw: string): BodyCheck {
  if (contentType === FORM) {
    const form = new URLSearchParams(raw);
    const counts = new Map<string, number>();
    for (const key of form.keys()) counts.set(key, (counts.get(key) ?? 0) + 1);
    const first = (key: string) => form.get(key) ?? undefined;
    const who = {
      ...(first('team_id') ? { teamId: first('team_id')!.slice(0, 40) } : {}),
      ...(first('user_id') ? { userId: first('user_id')!.slice(0, 40) } : {}),
    };
    const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    if (twice.length > 0) {
      return {
        ok: false,
        problem: `form field${twice.length > 1 ? 's' : ''} given twice: ${twice.join(', ').slice(0, 120)}`,
        ...who,
      };
    }
    if (first('ssl_check') === '1') return { ok: true, kind: 'ssl_check' };
    const payload = first('payload');
    if (payload !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload);
      } catch {
        return { ok: false, problem: 'the payload field is not JSON', ...who };
      }
      if (!isObject(parsed)) return { ok: false, problem: 'the payload is not a JSON object', ...who };
      if (typeof parsed.type !== 'string') return { ok: false, problem: 'the payload has no type', ...who };
      return { ok: true, kind: 'interaction' };
    }
    if (counts.has('command')) {
      const missing = COMMAND_FIELDS.filter((k) => !counts.has(k));
      if (missing.length > 0)
        return { ok: false, problem: `the command lacks ${missing.join(', ')}`, ...who };
      return { ok: true, kind: 'command' };
    }
    return { ok: false, problem: 'a form that is neither a command nor an interaction', ...who };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'the body is not JSON (nor a form)' };
  }
  if (!isObject(parsed))
    return {
      ok: false,
      problem: `the JSON body is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not an object`,
    };
  if (typeof parsed.type !== 'string') return { ok: false, problem: 'the JSON body has no type' };
  return { ok: true, kind: 'event' };
}
