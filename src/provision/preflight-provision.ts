import type { Diagnosis } from '../diagnose/diagnosis.ts';
import { preflightEnv } from '../diagnose/preflight-env.ts';
import { preflightImage } from '../diagnose/preflight-image.ts';
import type { ProvisionDeps } from './provision-types.ts';

/** The checks that refuse a machine that could not start. Null (or a warning) when it may go ahead. */
export async function preflightProvision(
  deps: Pick<ProvisionDeps, 'registry' | 'config' | 'now' | 'logger'>,
  image: string,
  userId: string,
): Promise<Diagnosis | { warning: string } | null> {
  const { registry, config, now } = deps;
  const refusal = preflightEnv(
    Object.entries({
      MACHINE_ID: 'pending',
      USER_ID: userId,
      SUPABASE_URL: config.machineSupabaseUrl,
      ...(config.machineCredentials
        ? { SUPABASE_MACHINE_TOKEN: 'minted', SUPABASE_ANON_KEY: config.machineCredentials.anonKey }
        : { SUPABASE_SERVICE_KEY: config.machineSupabaseServiceKey ?? '' }),
    })
      .filter(([, v]) => v.trim() !== '')
      .map(([k]) => k),
    now(),
  );
  if (refusal) return refusal;
  const verdict = preflightImage(
    await registry.checkImage(image),
    config.preflightUnverified ?? 'warn',
    now(),
  );
  if (verdict.kind === 'refuse') return verdict.diagnosis;
  if (verdict.kind === 'warn') {
    deps.logger.warn({ image }, verdict.warning);
    return { warning: verdict.warning };
  }
  return null;
}
