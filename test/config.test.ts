import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { VyxError } from '../src/errors/vyx-error.ts';

describe('configuration', () => {
  it('with nothing set, uses the local twins and the defaults', () => {
    const c = loadConfig({});
    expect(c.supabase).toEqual({ mode: 'twin', port: 54321 });
    expect(c.dataDir).toBe('.vyx');
    expect(c.logLevel).toBe('info');
  });

  it('uses real Supabase when its URL and key are set', () => {
    const c = loadConfig({ SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_KEY: 'k' });
    expect(c.supabase).toEqual({ mode: 'real', url: 'https://abc.supabase.co', serviceKey: 'k' });
  });

  it('serves a given Postgres through the twin', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/vyx',
      SUPABASE_LOCAL_PORT: '6000',
    });
    expect(c.supabase).toEqual({
      mode: 'twin',
      port: 6000,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/vyx',
    });
  });

  it('VYX_FAST_WATCH_MS: 2000 by default, 0 turns it off, under 1000 (faster than Fly lists allow) is refused by name', () => {
    expect(loadConfig({}).fastWatchMs).toBe(2000);
    expect(loadConfig({ VYX_FAST_WATCH_MS: '0' }).fastWatchMs).toBe(0);
    expect(loadConfig({ VYX_FAST_WATCH_MS: '1000' }).fastWatchMs).toBe(1000);
    for (const bad of ['500', '-1', 'fast']) {
      let err: unknown;
      try {
        loadConfig({ VYX_FAST_WATCH_MS: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(VyxError);
      expect((err as VyxError).message).toContain('VYX_FAST_WATCH_MS');
      expect((err as VyxError).message).toContain('≥ 1000');
    }
  });

  it('names every bad variable at once, with what it should be, and never a value', () => {
    let err: unknown;
    try {
      loadConfig({
        SUPABASE_URL: 'https://abc.supabase.co',
        LOG_LEVEL: 'loud',
        SUPABASE_LOCAL_PORT: 'ninety',
        DATABASE_URL: 'mysql://secret-password@h/db',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VyxError);
    const e = err as VyxError;
    expect(e.code).toBe('CONFIG_INVALID');
    for (const name of ['LOG_LEVEL', 'SUPABASE_LOCAL_PORT', 'DATABASE_URL', 'SUPABASE_SERVICE_KEY']) {
      expect(e.message).toContain(name);
    }
    expect(e.message).toContain('a postgres:// URL');
    expect(e.message).not.toContain('secret-password');
    expect(e.suggestion).toContain('README');
  });

  it('VYX_ALLOWED_REGISTRIES is a list of registry hosts; FLY_IMAGE an image reference', () => {
    expect(
      loadConfig({ VYX_ALLOWED_REGISTRIES: ' GHCR.io , registry.example.com:5000 ' }).allowedRegistries,
    ).toEqual(['ghcr.io', 'registry.example.com:5000']);
    expect(loadConfig({}).allowedRegistries).toEqual([]);
    expect(() => loadConfig({ VYX_ALLOWED_REGISTRIES: '../x,ghcr.io' })).toThrow(
      /VYX_ALLOWED_REGISTRIES should be/,
    );
    expect(() => loadConfig({ FLY_IMAGE: '../../etc' })).toThrow(/FLY_IMAGE should be an image reference/);
  });

  it('local mode: a URL given is that server; a token alone is what the emulator started here accepts', () => {
    expect(loadConfig({}).mode).toBe('local');
    expect(loadConfig({ FLY_API_TOKEN: 't' }).fly).toEqual({ mode: 'twin', port: 4280, token: 't' });
    expect(loadConfig({ FLY_API_URL: 'http://127.0.0.1:4999', FLY_API_TOKEN: 't' }).fly).toEqual({
      mode: 'real',
      apiUrl: 'http://127.0.0.1:4999',
      token: 't',
    });
    expect(() => loadConfig({ FLY_API_URL: 'http://127.0.0.1:4999' })).toThrow(/FLY_API_TOKEN is missing/);
  });

  it('production: real services only, Fly at api.machines.dev unless told; a missing credential is CONFIG_MISSING', () => {
    const all: Record<string, string> = {
      VYX_MODE: 'production',
      SUPABASE_URL: 'https://abc.supabase.co',
      SUPABASE_SERVICE_KEY: 'k',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      FLY_API_TOKEN: 'f',
    };
    const c = loadConfig(all);
    expect(c.mode).toBe('production');
    expect(c.fly).toEqual({ mode: 'real', apiUrl: 'https://api.machines.dev', token: 'f' });
    expect(c.slack.mode).toBe('socket');
    for (const name of Object.keys(all).filter((k) => k !== 'VYX_MODE')) {
      const { [name]: _, ...rest } = all;
      let err: unknown;
      try {
        loadConfig(rest);
      } catch (e) {
        err = e;
      }
      expect((err as VyxError).code, name).toBe('CONFIG_MISSING');
      expect((err as VyxError).message, name).toContain(
        name === 'SLACK_APP_TOKEN' ? 'SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET' : name,
      );
    }
  });

  it('Slack tokens of the wrong kind are named before Slack is asked, never echoed', () => {
    expect(() =>
      loadConfig({ SLACK_BOT_TOKEN: 'xapp-secret-value', SLACK_APP_TOKEN: 'xoxb-other-value' }),
    ).toThrow(
      /SLACK_BOT_TOKEN should be a bot token starting xoxb- \(it starts xapp-: is it SLACK_APP_TOKEN\?\); SLACK_APP_TOKEN should be an app-level token starting xapp- \(it starts xoxb-: is it SLACK_BOT_TOKEN\?\)/,
    );
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxp-user-token', SLACK_SIGNING_SECRET: 's' })).toThrow(
      /SLACK_BOT_TOKEN should be a bot token starting xoxb- \(it starts xoxp-: a different kind of token\)/,
    );
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xapp-secret-value', SLACK_APP_TOKEN: 'xoxb-other-value' });
    } catch (e) {
      expect(String((e as Error).message)).not.toMatch(/secret-value|other-value/);
    }
  });
});
