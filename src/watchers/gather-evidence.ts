import { METADATA_MACHINE_ID } from '../contract/machine-metadata.ts';
import type { DiagnosisInput, MachineMatch } from '../diagnose/diagnosis.ts';
import type { Machine } from '../fly/fly-types.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { ImageCheck, RegistryClient } from '../fly/registry-client.ts';
import type { CloudMachine } from '../store/store-schemas.ts';

export interface GatherDeps {
  fly: Pick<FlyMachinesClient, 'list' | 'listSecretNames'>;
  registry: Pick<RegistryClient, 'checkImage'>;
  /** The app to look in when a row names none. */
  defaultApp: string;
}

export interface GatheredEvidence {
  /** One DiagnosisInput per row, in the rows' order. */
  inputs: DiagnosisInput[];
  /** Every machine each app listed (include_deleted), for the orphan check. */
  machinesByApp: Map<string, Machine[]>;
  /** Apps Fly could not list: their rows cannot be judged this time. */
  failedApps: Map<string, unknown>;
  /** Requests made: one list and one secrets call per app, one registry check per distinct image. */
  requests: { list: number; secrets: number; registry: number };
}

/** Ties a row to the machine behind it: its recorded id, else our metadata, else its env. */
export function matchMachine(
  row: CloudMachine,
  machines: Machine[],
): { machine: Machine; by: MachineMatch } | null {
  if (row.fly_machine_id) {
    const m = machines.find((x) => x.id === row.fly_machine_id);
    return m ? { machine: m, by: 'fly_machine_id' } : null;
  }
  const byMeta = machines.find((x) => x.config?.metadata[METADATA_MACHINE_ID] === row.machine_id);
  if (byMeta) return { machine: byMeta, by: 'metadata' };
  const byEnv = machines.find((x) => x.config?.env.MACHINE_ID === row.machine_id);
  if (byEnv) return { machine: byEnv, by: 'env_machine_id' };
  // The web UI's machines carry USER_ID even when MACHINE_ID is missing (incident 000): the newest.
  const byUser = machines
    .filter((x) => x.config?.env.USER_ID === row.user_id && !x.config?.env.MACHINE_ID)
    .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''))[0];
  return byUser ? { machine: byUser, by: 'env_user_id' } : null;
}

/**
 * Gathers live evidence for many rows in batches — one list per Fly app (include_deleted), one
 * secret-names call per app, one registry check per distinct image — never one call per row (Fly
 * allows about one request a second per action).
 */
export async function gatherEvidence(
  rows: CloudMachine[],
  deps: GatherDeps,
  options: { now: Date; stuckAfterS: number; signal?: AbortSignal; apps?: string[] },
): Promise<GatheredEvidence> {
  const appOf = (r: CloudMachine) => r.fly_app ?? deps.defaultApp;
  const apps = [...new Set([...rows.map(appOf), ...(options.apps ?? [])])];
  const machinesByApp = new Map<string, Machine[]>();
  const secretsByApp = new Map<string, string[] | undefined>();
  const failedApps = new Map<string, unknown>();
  const requests = { list: 0, secrets: 0, registry: 0 };
  const signal = options.signal;

  await Promise.all(
    apps.map(async (app) => {
      requests.list++;
      requests.secrets++;
      const [machines, secrets] = await Promise.allSettled([
        deps.fly.list(app, { includeDeleted: true, ...(signal ? { signal } : {}) }),
        deps.fly.listSecretNames(app, { ...(signal ? { signal } : {}) }),
      ]);
      if (machines.status === 'fulfilled') machinesByApp.set(app, machines.value);
      else failedApps.set(app, machines.reason);
      // Secret names are a refinement: without them the env rule says "likely", not "certain".
      secretsByApp.set(app, secrets.status === 'fulfilled' ? secrets.value : undefined);
    }),
  );

  const matched = rows.map((row) => {
    const machines = machinesByApp.get(appOf(row));
    return machines ? matchMachine(row, machines) : null;
  });
  const imageOf = (row: CloudMachine, i: number) =>
    matched[i]?.machine.config?.image ?? row.image ?? undefined;
  const images = [...new Set(rows.map(imageOf).filter((x): x is string => x !== undefined))];
  const checks = new Map<string, ImageCheck>();
  await Promise.all(
    images.map(async (image) => {
      requests.registry++;
      try {
        checks.set(image, await deps.registry.checkImage(image, { signal }));
      } catch (err) {
        checks.set(image, { status: 'unknown', reason: (err as Error).message, imageRef: image });
      }
    }),
  );

  const inputs = rows.map((row, i): DiagnosisInput => {
    const m = matched[i];
    const image = imageOf(row, i);
    return {
      row,
      machine: m?.machine ?? null,
      ...(m ? { matchedBy: m.by } : {}),
      ...(image && checks.has(image) ? { imageCheck: checks.get(image)! } : {}),
      ...(secretsByApp.get(appOf(row)) ? { secretNames: secretsByApp.get(appOf(row))! } : {}),
      now: options.now,
      stuckAfterS: options.stuckAfterS,
    };
  });
  return { inputs, machinesByApp, failedApps, requests };
}
