import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS, redactingOptions } from '../../src/logger.ts';
import { createSecretRedactor, pathSegments } from '../../src/secret-redactor.ts';

/** One line, logged by pino with the given options, parsed (time, pid, hostname dropped). */
function lineOf(options: pino.LoggerOptions, obj: object, child?: object): Record<string, unknown> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const base = pino({ level: 'info', base: undefined, timestamp: false, ...options }, sink);
  (child ? base.child(child) : base).info(obj, 'm');
  return JSON.parse(out) as Record<string, unknown>;
}

const asPino = { redact: { paths: REDACT_PATHS, censor: '[redacted]' } };

// Shapes libraries and our code log: every REDACT_PATHS form, arrays, errors, near misses.
const cases: Record<string, object> = {
  'top level': { token: 't', serviceKey: 'k', machineId: 'vyx-1', n: 3, ok: true },
  'one level down': { stack: { token: 't', apiKey: 'a', other: 'x' }, list: [{ token: 't' }, { x: 1 }] },
  'two levels down': { a: { b: { serviceKey: 'k', botToken: 'b', keep: 'y' } } },
  'three levels is out of reach of *.*': { a: { b: { c: { token: 'stays' } } } },
  headers: {
    headers: { authorization: 'Bearer t', Authorization: 'x', apikey: 'k', 'x-slack-signature': 'v0=s' },
  },
  request: { req: { headers: { authorization: 'F', apikey: 'k', 'x-slack-signature': 'v0=s', host: 'h' } } },
  'axios error config': {
    err: { message: 'boom', config: { headers: { Authorization: 'B' }, data: '{"t":1}' } },
  },
  env: {
    env: { SUPABASE_SERVICE_KEY: 'k', FLY_API_TOKEN: 'f', DATABASE_URL: 'postgres://u:p@h/d', HOME: '/root' },
  },
  'null and undefined': { token: null, a: { token: undefined, b: null } },
  'a string where an object was': { headers: 'raw', env: 'raw', err: 'boom' },
  arrays: { items: [{ password: 'p' }, 'str', [{ token: 't' }]] },
};

describe('secret redactor', () => {
  it.each(Object.entries(cases))('logs what pino’s own redact would: %s', (_name, obj) => {
    expect(lineOf(redactingOptions(), obj)).toEqual(lineOf(asPino, obj));
  });

  it('redacts a child logger’s bindings by their keys and exact paths', () => {
    const bindings = { requestId: 'r1', token: 't', headers: { authorization: 'Bearer t', accept: '*/*' } };
    const line = lineOf(redactingOptions(), { x: 1 }, bindings);
    expect(line).toEqual(lineOf(asPino, { x: 1 }, bindings));
    expect(line).toMatchObject({
      requestId: 'r1',
      token: '[redacted]',
      headers: { authorization: '[redacted]' },
    });
  });

  it('leaves the caller’s objects as they were, and returns them untouched when nothing matches', () => {
    const redact = createSecretRedactor(REDACT_PATHS, '[redacted]');
    const clean = { machineId: 'vyx-1', nested: { state: 'started' } };
    expect(redact(clean)).toBe(clean);
    const secretful = { nested: { token: 't', keep: 1 }, other: { a: 1 } };
    const out = redact(secretful);
    expect(out).toEqual({ nested: { token: '[redacted]', keep: 1 }, other: { a: 1 } });
    expect(secretful.nested.token).toBe('t');
    expect(out.other).toBe(secretful.other);
  });

  it('keeps an error an error (message, stack, class) when it censors inside it', () => {
    class ApiError extends Error {
      config = { headers: { Authorization: 'Bearer secret-value' } };
    }
    const err = new ApiError('invalid_auth');
    const out = createSecretRedactor(REDACT_PATHS, '[redacted]')({ err });
    expect(out.err).toBeInstanceOf(ApiError);
    expect(out.err.message).toBe('invalid_auth');
    expect(out.err.stack).toBe(err.stack);
    expect(out.err.config.headers.Authorization).toBe('[redacted]');
    expect(err.config.headers.Authorization).toBe('Bearer secret-value');
    const line = lineOf(redactingOptions(), { err });
    expect(JSON.stringify(line)).not.toContain('secret-value');
    expect(line.err).toMatchObject({ type: 'ApiError', message: 'invalid_auth' });
  });

  it('reads pino’s path syntax', () => {
    expect(pathSegments('req.headers["x-slack-signature"]')).toEqual(['req', 'headers', 'x-slack-signature']);
    expect(pathSegments('*.*.token')).toEqual(['*', '*', 'token']);
    expect(pathSegments("a['b'].c")).toEqual(['a', 'b', 'c']);
  });
});
