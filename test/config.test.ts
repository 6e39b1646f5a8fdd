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
});
