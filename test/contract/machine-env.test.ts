import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildMachineEnv, type MachineEnvInput } from '../../src/contract/build-machine-env.ts';
import {
  checkMachineEnvNames,
  describeMachineEnvProblems,
  type MachineEnvProblem,
  machineEnvSchema,
  parseMachineEnv,
} from '../../src/contract/machine-env.ts';
import {
  MACHINE_ENV_ALIASES,
  MACHINE_ENV_NAMES,
  REQUIRED_MACHINE_ENV_NAMES,
} from '../../src/contract/machine-env-names.ts';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';

interface EnvFixture {
  description: string;
  env: Record<string, string>;
  problems: Partial<MachineEnvProblem>[];
  message: string;
}

const FIXTURES = new URL('../fixtures/runtime/', import.meta.url);
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.startsWith('env-') && f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(new URL(f, FIXTURES), 'utf8')) as EnvFixture] as const);

describe('machine env contract: parse', () => {
  it('has fixtures to check', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(5);
  });

  it.each(fixtures)('%s', (_file, fixture) => {
    const parsed = parseMachineEnv(fixture.env);
    expect(parsed.ok).toBe(fixture.problems.length === 0);
    expect(
      parsed.problems.map((p) => ({
        kind: p.kind,
        name: p.name,
        ...('aliasFound' in p ? { aliasFound: p.aliasFound } : {}),
      })),
    ).toEqual(fixture.problems);
    const message = describeMachineEnvProblems(parsed.problems);
    expect(message).toBe(fixture.message);
    // Names only: no value of the environment appears in the message.
    for (const value of Object.values(fixture.env)) {
      if (value.includes('VALUE')) expect(message).not.toContain(value.trim());
    }
  });

  it('returns typed values: numbers for seconds, and leaves unset optional ones out', () => {
    const parsed = parseMachineEnv({
      MACHINE_ID: 'vyx-63eea370',
      USER_ID: 'u-1',
      SUPABASE_URL: 'http://127.0.0.1:54321',
      SUPABASE_SERVICE_KEY: 'k'.repeat(40),
      VYX_HEARTBEAT_INTERVAL_S: '0.25',
      GEMINI_API_KEY: '',
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.env.VYX_HEARTBEAT_INTERVAL_S).toBe(0.25);
    expect('GEMINI_API_KEY' in parsed.env).toBe(false);
  });

  it('notes an alias set besides the right name, and an alias of an optional variable, without failing', () => {
    const parsed = parseMachineEnv({
      MACHINE_ID: 'vyx-63eea370',
      USER_ID: 'u-1',
      SUPABASE_URL: 'https://x.supabase.co',
      SUPABASE_SERVICE_KEY: 'k'.repeat(40),
      SUPABASE_SERVICE_ROLE_KEY: 'k'.repeat(40),
      GOOGLE_API_KEY: 'g'.repeat(40),
    });
    expect(parsed.ok).toBe(true);
    expect(parsed.notices).toEqual([
      { kind: 'alias-ignored', name: 'SUPABASE_SERVICE_KEY', alias: 'SUPABASE_SERVICE_ROLE_KEY' },
      { kind: 'optional-alias', name: 'GEMINI_API_KEY', alias: 'GOOGLE_API_KEY' },
    ]);
  });

  it('agrees with the zod schema it exports', () => {
    const env = {
      MACHINE_ID: 'vyx-63eea370',
      USER_ID: 'u-1',
      SUPABASE_URL: 'https://x.supabase.co',
      SUPABASE_SERVICE_KEY: 'k'.repeat(40),
      LOG_LEVEL: 'debug',
    };
    expect(machineEnvSchema.parse(env)).toEqual((parseMachineEnv(env) as { env: unknown }).env);
    expect(machineEnvSchema.safeParse({ ...env, SUPABASE_URL: 'nope' }).success).toBe(false);
  });
});

describe('machine env contract: names', () => {
  it('requires exactly MACHINE_ID, USER_ID, SUPABASE_URL and SUPABASE_SERVICE_KEY', () => {
    expect([...REQUIRED_MACHINE_ENV_NAMES]).toEqual([
      'MACHINE_ID',
      'USER_ID',
      'SUPABASE_URL',
      'SUPABASE_SERVICE_KEY',
    ]);
  });

  it('maps every alias to a contract name, and no alias is itself a contract name', () => {
    for (const [alias, name] of Object.entries(MACHINE_ENV_ALIASES)) {
      expect(MACHINE_ENV_NAMES).toContain(name);
      expect(MACHINE_ENV_NAMES).not.toContain(alias);
    }
    expect(MACHINE_ENV_ALIASES.SUPABASE_SERVICE_ROLE_KEY).toBe('SUPABASE_SERVICE_KEY');
  });

  it('checks names only, as the watcher does with config.env ∪ app secret names', () => {
    expect(
      checkMachineEnvNames(['USER_ID', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'CPU_PRIORITY']),
    ).toEqual([
      { kind: 'missing', name: 'MACHINE_ID' },
      { kind: 'missing', name: 'SUPABASE_SERVICE_KEY', aliasFound: 'SUPABASE_SERVICE_ROLE_KEY' },
    ]);
    expect(checkMachineEnvNames(new Set(REQUIRED_MACHINE_ENV_NAMES))).toEqual([]);
  });
});

describe('machine env contract: buildMachineEnv (the provisioner)', () => {
  const input: MachineEnvInput = {
    machineId: 'vyx-63eea370',
    userId: '63eea370-0000-4000-8000-000000000000',
    supabaseUrl: 'https://abcdefghij.supabase.co',
    supabaseServiceKey: 'SECRET-VALUE-service-key-0005',
    geminiApiKey: '',
    cpuPriority: 'normal',
    heartbeatIntervalS: 15,
  };

  it('builds config.env with the contract names, leaving empty optional values out; the runtime parses it', () => {
    const env = buildMachineEnv(input);
    expect(env).toEqual({
      MACHINE_ID: 'vyx-63eea370',
      USER_ID: '63eea370-0000-4000-8000-000000000000',
      SUPABASE_URL: 'https://abcdefghij.supabase.co',
      SUPABASE_SERVICE_KEY: 'SECRET-VALUE-service-key-0005',
      CPU_PRIORITY: 'normal',
      VYX_HEARTBEAT_INTERVAL_S: '15',
    });
    expect(parseMachineEnv(env).ok).toBe(true);
  });

  it('refuses bad input with ENV_INVALID naming each variable, never a value', async () => {
    const err = await expectVyxError(
      Promise.resolve().then(() =>
        buildMachineEnv({ ...input, machineId: '', supabaseUrl: 'SECRET-VALUE-url' }),
      ),
      'ENV_INVALID',
    );
    expect(err.message).toContain('MACHINE_ID is missing');
    expect(err.message).toContain('SUPABASE_URL is malformed');
    expect(err.message).not.toContain('SECRET-VALUE');
    expect(err.details.variables).toEqual(['MACHINE_ID', 'SUPABASE_URL']);
  });

  it('does not compile with a wrong or missing name (checked by npm run typecheck)', () => {
    const wrong = () =>
      buildMachineEnv({
        machineId: 'vyx-63eea370',
        userId: 'u',
        supabaseUrl: 'https://x.supabase.co',
        // @ts-expect-error the incident's name is not part of the contract
        supabaseServiceRoleKey: 'k',
      });
    expect(wrong).toThrow();
  });
});

describe('a machine with its own credential', () => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoidnl4X21hY2hpbmUifQ.c2ln';
  it('gets SUPABASE_MACHINE_TOKEN and SUPABASE_ANON_KEY, and no SUPABASE_SERVICE_KEY', () => {
    const env = buildMachineEnv({
      machineId: 'vyx-63eea370',
      userId: 'user-1',
      supabaseUrl: 'https://abc.supabase.co',
      machineToken: token,
      anonKey: 'anon-key-value',
    });
    expect(Object.keys(env).sort()).toEqual(
      ['MACHINE_ID', 'SUPABASE_ANON_KEY', 'SUPABASE_MACHINE_TOKEN', 'SUPABASE_URL', 'USER_ID'].sort(),
    );
    expect(parseMachineEnv(env).ok).toBe(true);
  });

  it('the names check accepts the token pair, wants both, and still names the incident’s alias', () => {
    const base = ['MACHINE_ID', 'USER_ID', 'SUPABASE_URL'];
    expect(checkMachineEnvNames([...base, 'SUPABASE_MACHINE_TOKEN', 'SUPABASE_ANON_KEY'])).toEqual([]);
    expect(checkMachineEnvNames([...base, 'SUPABASE_MACHINE_TOKEN'])).toEqual([
      { kind: 'missing', name: 'SUPABASE_ANON_KEY' },
    ]);
    expect(checkMachineEnvNames([...base, 'SUPABASE_SERVICE_ROLE_KEY'])).toEqual([
      { kind: 'missing', name: 'SUPABASE_SERVICE_KEY', aliasFound: 'SUPABASE_SERVICE_ROLE_KEY' },
    ]);
  });
});
