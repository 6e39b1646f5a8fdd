/**
 * A machine process's environment, as Fly gives it: the app's secrets, `config.env`, then Fly's own
 * variables (FLY_MACHINE_ID, FLY_REGION, FLY_IMAGE_REF …) and PATH — nothing else from the host.
 */
import type { AppRecord, MachineRecord } from './machine-store.ts';

export function machineEnv(
  record: MachineRecord,
  app: AppRecord | undefined,
  path: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, secret] of app?.secrets ?? []) env[name] = secret.value;
  const configEnv = (record.config.env ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(configEnv)) if (typeof value === 'string') env[key] = value;
  const guest = (record.config.guest ?? {}) as { memory_mb?: number };
  Object.assign(env, {
    FLY_MACHINE_ID: record.id,
    FLY_ALLOC_ID: record.id,
    FLY_APP_NAME: record.app,
    FLY_REGION: record.region,
    PRIMARY_REGION: record.region,
    FLY_IMAGE_REF: `${record.imageRef.registry}/${record.imageRef.repository}:${record.imageRef.tag}${
      record.imageRef.digest ? `@${record.imageRef.digest}` : ''
    }`,
    FLY_MACHINE_VERSION: record.instanceId,
    FLY_PRIVATE_IP: record.privateIp,
    FLY_VM_MEMORY_MB: String(guest.memory_mb ?? 256),
    PATH: path,
  });
  return env;
}
