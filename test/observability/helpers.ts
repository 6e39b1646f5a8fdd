import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { sign } from '../../testkit/slack-signature.ts';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Parses the Prometheus text format (0.0.4) strictly: HELP/TYPE lines, samples with labels and a
 * float value; throws on any line it does not understand, on a sample of an undeclared family and
 * on a family declared twice.
 */
export function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`bad comment, ${where}`);
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name, ${where}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) {
          throw new Error(`bad type, ${where}`);
        }
        if (types.has(m[2]!)) throw new Error(`family declared twice, ${where}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let consumed = 0;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      if (consumed !== m[3].length) throw new Error(`bad labels, ${where}`);
    }
    const raw = m[4]!;
    // Values as Prometheus reads them (Go's ParseFloat: Inf and NaN in any letter case; prom-client
    // writes an empty event-loop histogram's mean as `Nan`).
    const special = /^([+-]?)(inf|infinity)$/i.exec(raw);
    const value = special
      ? special[1] === '-'
        ? -Infinity
        : Infinity
      : /^nan$/i.test(raw)
        ? Number.NaN
        : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)
          ? Number(raw)
          : undefined;
    if (value === undefined) throw new Error(`bad value, ${where}`);
    const name = m[1]!;
    const family = [...types.keys()].find(
      (f) =>
        name === f ||
        (/_(bucket|sum|count|created|total)$/.test(name) &&
          name.replace(/_(bucket|sum|count|created)$/, '') === f),
    );
    if (!family) throw new Error(`sample of an undeclared family, ${where}`);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

/** The value of one sample (0 when absent: a counter that never moved). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.reduce((sum, s) => sum + s.value, 0);
}

/** Every line the logger wrote, kept in memory (and scanned for secrets by the tests). */
export function logSink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

export function secret(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/** No secret value anywhere in the text (the assertion names the kind, never the value). */
export function expectNoSecrets(text: string, secrets: Record<string, string>): void {
  expect(text.length).toBeGreaterThan(0);
  for (const [what, value] of Object.entries(secrets)) {
    expect(text.includes(value), `${what} appears in the log`).toBe(false);
  }
}

/** A signed `/vyx …` to the bot's /slack/events, as Slack sends it. */
export async function sendCommand(
  baseUrl: string,
  signingSecret: string,
  o: { text: string; team: string; channel: string; user: string; responseUrl: string },
): Promise<number> {
  const body = new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: o.team,
    team_domain: 'vyx-test',
    channel_id: o.channel,
    channel_name: 'vyx-local',
    user_id: o.user,
    user_name: o.user.toLowerCase(),
    command: '/vyx',
    text: o.text,
    api_app_id: 'A0VYXLOCAL',
    response_url: o.responseUrl,
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const r = await fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': sign(signingSecret, ts, body),
    },
    body,
  });
  await r.text();
  return r.status;
}

export async function until<T>(
  check: () => Promise<T> | T,
  what: string,
  ms = 30_000,
): Promise<Exclude<T, undefined | null | false | ''>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as never;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
