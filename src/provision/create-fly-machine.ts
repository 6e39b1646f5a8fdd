import { buildMachineEnv } from '../contract/build-machine-env.ts';
import { machineMetadata } from '../contract/machine-metadata.ts';
import { isVyxError } from '../errors/vyx-error.ts';
import type { Machine } from '../fly/fly-types.ts';
import { CREATE_KEY_METADATA } from '../fly/machines-client.ts';
import { mintMachineToken } from '../store/supabase-jwt.ts';
import type { ProvisionConfig, ProvisionDeps } from './provision-types.ts';

/** Fly refused the create outright (nothing was made): no need to look for a machine. */
const REFUSED = ['FLY_BAD_REQUEST', 'FLY_UNAUTHORIZED', 'FLY_FORBIDDEN', 'FLY_NOT_FOUND'];

/** The machine's credential variables: its own token when configured, else the service key. */
function machineCredentialEnv(config: ProvisionConfig, machineId: string) {
  return config.machineCredentials
    ? {
        machineToken: mintMachineToken(machineId, config.machineCredentials.jwtSecret),
        anonKey: config.machineCredentials.anonKey,
      }
    : { supabaseServiceKey: config.machineSupabaseServiceKey ?? '' };
}

/**
 * The create call, named after the row and carrying the provisioning's create key in metadata.
 * When Fly's answer is lost (the client already looked once), looks again by the key: the machine;
 * nothing made (the create's error is thrown); or `unknown` when Fly cannot be asked.
 */
export async function createFlyMachine(
  deps: Pick<ProvisionDeps, 'fly' | 'config'>,
  o: { machineId: string; userId: string; image: string; region: string; createKey: string },
): Promise<{ kind: 'made'; machine: Machine } | { kind: 'unknown'; reason: string }> {
  const { fly, config } = deps;
  const env = buildMachineEnv({
    machineId: o.machineId,
    userId: o.userId,
    supabaseUrl: config.machineSupabaseUrl,
    ...machineCredentialEnv(config, o.machineId),
    ...config.machineEnvExtra,
  });
  try {
    const machine = await fly.create(config.flyApp, {
      name: o.machineId,
      region: o.region,
      config: {
        image: o.image,
        env,
        metadata: { ...machineMetadata(o.machineId, o.userId), [CREATE_KEY_METADATA]: o.createKey },
        // Keep a failed machine (and its exit events) for the diagnosis instead of auto-destroying it.
        auto_destroy: false,
        restart: { policy: 'no' },
      },
    });
    return { kind: 'made', machine };
  } catch (err) {
    if (isVyxError(err) && REFUSED.includes(err.code)) throw err;
    let found: Machine[];
    try {
      found = await fly.list(config.flyApp, {
        includeDeleted: true,
        metadata: { [CREATE_KEY_METADATA]: o.createKey },
      });
    } catch (lookErr) {
      const said = (e: unknown) => (isVyxError(e) ? e.code : String((e as Error)?.message ?? e));
      return { kind: 'unknown', reason: `${said(err)}; looking it up: ${said(lookErr)}` };
    }
    const machine = found.find((m) => m.config?.metadata[CREATE_KEY_METADATA] === o.createKey);
    if (machine) return { kind: 'made', machine };
    throw err;
  }
}
