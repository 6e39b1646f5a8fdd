import { z } from 'zod';
import { type RegistryAccess, registryAccess } from '../../../src/fly/registry-access.ts';

/**
 * The function's settings, read from its environment (Deno.env): Supabase gives every function
 * SUPABASE_URL, SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY; the rest are secrets set with
 * `supabase secrets set`. The platform's existing secret names are kept (FLY_API_TOKEN,
 * FLY_APP_NAME, DOCKER_IMAGE, GEMINI_API_KEY), so this function replaces the old one without renames.
 *
 * Values a machine receives are read from `MACHINE_<contract name>` secrets, because Supabase
 * refuses secrets whose names start with `SUPABASE_` (`supabase secrets set` skips them): the
 * machine's SUPABASE_SERVICE_KEY comes from MACHINE_SUPABASE_SERVICE_KEY, never from the
 * function's own SUPABASE_SERVICE_ROLE_KEY by accident.
 */
export interface Settings {
  supabaseUrl: string;
  /** The function's own key: its store calls (service_role). */
  serviceRoleKey: string;
  /** Sent as `apikey` when asking Supabase Auth who the caller is (the anon key when there is one). */
  authApiKey: string;
  flyApiUrl: string;
  flyToken: string;
  flyApp: string;
  flyRegion: string;
  image: string;
  registry: RegistryAccess;
  preflightUnverified: 'warn' | 'refuse';
  startTimeoutMs: number;
  /** The machine-bound values, by contract input field (names checked by the contract at preflight). */
  machine: {
    supabaseUrl: string;
    supabaseServiceKey: string | undefined;
    geminiApiKey: string | undefined;
  };
  /** Every `MACHINE_*` secret with a value, prefix removed (for the contract's names check). */
  machineSecretNames: string[];
}

/** The function cannot run at all (its own settings, not the machine's): answered 500 with these. */
export interface SettingsProblem {
  name: string;
  problem: string;
}

export const MACHINE_SECRET_PREFIX = 'MACHINE_';
const DEFAULT_IMAGE = 'registry.fly.io/vyx-app:latest';
const FLY_API_DEFAULT = 'https://api.machines.dev';

const text = (env: Record<string, string | undefined>, name: string) => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

const httpUrl = z.url({ protocol: /^https?$/ });

/** Reads the settings, or every problem with the function's own ones at once (names only, never values). */
export function readSettings(
  env: Record<string, string | undefined>,
): { ok: true; settings: Settings } | { ok: false; problems: SettingsProblem[] } {
  const problems: SettingsProblem[] = [];
  const need = (name: string, what: string) => {
    const value = text(env, name);
    if (value === undefined) problems.push({ name, problem: `${name} is missing: ${what}` });
    return value ?? '';
  };
  const url = (name: string, value: string | undefined) => {
    if (value !== undefined && !httpUrl.safeParse(value).success) {
      problems.push({ name, problem: `${name} is not an http(s) URL` });
    }
    return value;
  };
  const supabaseUrl = url('SUPABASE_URL', need('SUPABASE_URL', 'Supabase sets it for every function')) ?? '';
  const serviceRoleKey = need('SUPABASE_SERVICE_ROLE_KEY', 'Supabase sets it for every function');
  const flyToken = need('FLY_API_TOKEN', 'supabase secrets set FLY_API_TOKEN=<fly tokens create deploy>');
  const flyApp = need('FLY_APP_NAME', 'supabase secrets set FLY_APP_NAME=<the Fly app of the machines>');
  const flyApiUrl = url('FLY_API_URL', text(env, 'FLY_API_URL')) ?? FLY_API_DEFAULT;
  const registryUrl = url('FLY_REGISTRY_URL', text(env, 'FLY_REGISTRY_URL'));
  const flyRegion = text(env, 'FLY_REGION') ?? 'ord';
  if (!/^[a-z]{3}$/.test(flyRegion))
    problems.push({ name: 'FLY_REGION', problem: 'FLY_REGION is not a region code' });
  const unverified = text(env, 'VYX_PREFLIGHT_UNVERIFIED') ?? 'warn';
  if (unverified !== 'warn' && unverified !== 'refuse') {
    problems.push({
      name: 'VYX_PREFLIGHT_UNVERIFIED',
      problem: 'VYX_PREFLIGHT_UNVERIFIED must be warn or refuse',
    });
  }
  const timeoutS = Number(text(env, 'VYX_START_TIMEOUT_S') ?? '60');
  if (!Number.isInteger(timeoutS) || timeoutS < 1) {
    problems.push({
      name: 'VYX_START_TIMEOUT_S',
      problem: 'VYX_START_TIMEOUT_S must be a whole number of seconds ≥ 1',
    });
  }
  const image = text(env, 'DOCKER_IMAGE') ?? DEFAULT_IMAGE;
  let registry: RegistryAccess | undefined;
  try {
    registry = registryAccess({
      defaultImage: image,
      allowedRegistries: (text(env, 'VYX_ALLOWED_REGISTRIES') ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
      ...(registryUrl ? { emulatorOrigin: registryUrl } : {}),
    });
  } catch {
    problems.push({ name: 'DOCKER_IMAGE', problem: 'DOCKER_IMAGE is not an image reference' });
  }
  if (problems.length > 0 || !registry) return { ok: false, problems };
  const machineSecretNames = Object.keys(env)
    .filter((name) => name.startsWith(MACHINE_SECRET_PREFIX) && text(env, name) !== undefined)
    .map((name) => name.slice(MACHINE_SECRET_PREFIX.length));
  return {
    ok: true,
    settings: {
      supabaseUrl,
      serviceRoleKey,
      authApiKey: text(env, 'SUPABASE_ANON_KEY') ?? serviceRoleKey,
      flyApiUrl,
      flyToken,
      flyApp,
      flyRegion,
      image,
      registry,
      preflightUnverified: unverified as 'warn' | 'refuse',
      startTimeoutMs: timeoutS * 1000,
      machine: {
        // The machine reaches the same project unless told otherwise.
        supabaseUrl: text(env, 'MACHINE_SUPABASE_URL') ?? supabaseUrl,
        supabaseServiceKey: text(env, 'MACHINE_SUPABASE_SERVICE_KEY'),
        geminiApiKey: text(env, 'GEMINI_API_KEY'),
      },
      machineSecretNames,
    },
  };
}
