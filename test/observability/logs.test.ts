import { PassThrough } from 'node:stream';
import { LogLevel } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACT_PATHS, scrubSecrets, secretValuesOf } from '../../src/logger.ts';
import { slackLogger } from '../../src/observability/bolt-logger.ts';
import { logSink } from '../helpers/log-sink.ts';
import { expectNoSecrets, secret } from '../helpers/secrets.ts';

describe('logs', () => {
  const token = `xoxb-${secret('bot')}`;
  const key = secret('service-key');
  const fly = `FlyV1 fm2_${secret('fly')}`;

  it('redacts secrets by path wherever a library puts them: tokens, keys, Authorization headers', () => {
    const sink = logSink();
    const log = createLogger({ destination: sink.stream, level: 'debug' });
    log.info({ serviceKey: key, token, apiKey: key, botToken: token, signingSecret: key }, 'top level');
    log.info({ headers: { authorization: `Bearer ${token}`, Authorization: fly, apikey: key } }, 'headers');
    log.info({ req: { headers: { authorization: fly, 'x-slack-signature': `v0=${key}` } } }, 'request');
    // What @slack/web-api and axios put on an error: the request config with its headers.
    log.error(
      {
        err: { message: 'An API error occurred', config: { headers: { Authorization: `Bearer ${token}` } } },
      },
      'slack',
    );
    log.info({ env: { SUPABASE_SERVICE_KEY: key, FLY_API_TOKEN: fly, SLACK_BOT_TOKEN: token } }, 'env');
    log.info({ stack: { supabase: { serviceKey: key }, fly: { token: fly } } }, 'nested');
    expect(sink.lines).toHaveLength(6);
    expectNoSecrets(sink.lines.join('\n'), { key, token, fly });
    expect(sink.lines.join('\n')).toContain('[redacted]');
    expect(REDACT_PATHS).toEqual(
      expect.arrayContaining(['headers.authorization', 'err.config.headers.Authorization']),
    );
  });

  it('scrubs secret values from free text too (a message, an error text), given the values', () => {
    const sink = logSink();
    const env = {
      SUPABASE_SERVICE_KEY: key,
      SLACK_BOT_TOKEN: token,
      DATABASE_URL: `postgres://u:${key}x@h/db`,
      LOG_LEVEL: 'info',
    };
    const log = createLogger({ destination: sink.stream, secrets: secretValuesOf(env) });
    log.warn(`request to https://x.supabase.co failed with apikey ${key}`);
    log.error({ err: `invalid_auth for ${token}` }, 'slack said no');
    log.info({ url: env.DATABASE_URL }, 'database');
    expectNoSecrets(sink.lines.join('\n'), { key, token, password: `${key}x` });
    expect(secretValuesOf(env)).not.toContain('info');
    expect(scrubSecrets(`a ${key} b`, [key])).toBe('a [redacted] b');
  });

  it('is JSON by default and readable with format pretty, redacted either way', () => {
    const json = logSink();
    createLogger({ destination: json.stream }).info({ machineId: 'vyx-1', token }, 'hello');
    const line = JSON.parse(json.lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      msg: 'hello',
      machineId: 'vyx-1',
      token: '[redacted]',
      name: 'vyxbot',
      level: 30,
    });

    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += String(d);
    });
    createLogger({ destination: out, format: 'pretty' }).info({ machineId: 'vyx-1', token }, 'hello');
    expect(text).toMatch(/INFO.*hello/);
    expect(text).toContain('machineId: "vyx-1"');
    expect(text).not.toContain(token);
    expect(() => JSON.parse(text)).toThrow();
  });

  it('carries Bolt’s own lines as JSON through the same logger, at Bolt’s level, scrubbed', () => {
    const sink = logSink();
    const bolt = slackLogger(
      createLogger({ destination: sink.stream, level: 'debug', secrets: [token] }),
      LogLevel.WARN,
    );
    bolt.info('not shown at WARN');
    bolt.error('An API error occurred:', new Error(`invalid_auth with ${token}`));
    expect(sink.lines).toHaveLength(1);
    expect(JSON.parse(sink.lines[0]!)).toMatchObject({
      level: 50,
      part: 'bolt',
      msg: 'An API error occurred: invalid_auth with [redacted]',
    });
    bolt.setLevel(LogLevel.DEBUG);
    bolt.debug('now shown');
    expect(bolt.getLevel()).toBe(LogLevel.DEBUG);
    expect(sink.lines).toHaveLength(2);
  });
});
