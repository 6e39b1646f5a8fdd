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
  return indexMachines(machines).match(row);
}

/**
 * `matchMachine` for many rows against one app's list: the list is indexed once (by id, by our
 * metadata, by MACHINE_ID, by USER_ID) instead of searched once per row. Same answers: the first
 * machine in list order wins, and for USER_ID the newest (the first of equally new ones).
 */
export function indexMachines(machines: Machine[]): {
  match(row: CloudMachine): { machine: Machine; by: MachineMatch } | null;
} {
  const byId = new Map<string, Machine>();
  const byMeta = new Map<string, Machine>();
  const byEnv = new Map<string, Machine>();
  const byUser = new Map<string, Machine>();
  const first = (map: Map<string, Machine>, key: string | undefined, m: Machine) => {
    if (key !== undefined && !map.has(key)) map.set(key, m);
  };
  for (const m of machines) {
    first(byId, m.id, m);
    first(byMeta, m.config?.metadata[METADATA_MACHINE_ID], m);
    const env = m.config?.env;
    first(byEnv, env?.MACHINE_ID, m);
    const user = env?.USER_ID;
    // The web UI's machines carry USER_ID even when MACHINE_ID is missing (incident 000): the newest.
    if (user !== undefined && !env?.MACHINE_ID) {
      const best = byUser.get(user);
      if (!best || (m.created_at ?? '').localeCompare(best.created_at ?? '') > 0) byUser.set(user, m);
    }
  }
  return {
    match(row) {
      if (row.fly_machine_id) {
        const m = byId.get(row.fly_machine_id);
        return m ? { machine: m, by: 'fly_machine_id' } : null;
      }
      const meta = byMeta.get(row.machine_id);
      if (meta) return { machine: meta, by: 'metadata' };
      const env = byEnv.get(row.machine_id);
      if (env) return { machine: env, by: 'env_machine_id' };
      const user = byUser.get(row.user_id);
      return user ? { machine: user, by: 'env_user_id' } : null;
    },
  };
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

  const indexes = new Map<string, ReturnType<typeof indexMachines>>();
  for (const [app, machines] of machinesByApp) indexes.set(app, indexMachines(machines));
  const matched = rows.map((row) => indexes.get(appOf(row))?.match(row) ?? null);
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
