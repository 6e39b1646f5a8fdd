import type { DiagnosisInput } from '../diagnose/diagnosis.ts';
import type { Machine } from '../fly/fly-types.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { ImageCheck, RegistryClient } from '../fly/registry-client.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import { indexMachines, type MachineFound } from './match-machine.ts';

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

/**
 * Gathers live evidence for many rows in batches — one list per Fly app (include_deleted), one
 * secret-names call per app, one registry check per distinct image — never one call per row (Fly
 * allows about one request a second per action).
 */
export async function gatherEvidence(
  rows: CloudMachine[],
  deps: GatherDeps,
  options: {
    now: Date;
    stuckAfterS: number;
    signal?: AbortSignal;
    apps?: string[];
    /** Which rows' images to check (default all): a frequent caller skips rows it will not judge. */
    checkImageOf?: (row: CloudMachine, machine: Machine | null) => boolean;
  },
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

  // Each app's rows are matched together, so the weakest key (USER_ID) skips machines that a
  // stronger key ties to another row.
  const matched: (MachineFound | null)[] = rows.map(() => null);
  for (const [app, machines] of machinesByApp) {
    const mine = rows.flatMap((row, i) => (appOf(row) === app ? [i] : []));
    const found = indexMachines(machines).matchAll(mine.map((i) => rows[i]!));
    mine.forEach((rowIndex, k) => {
      matched[rowIndex] = found[k] ?? null;
    });
  }
  const imageOf = (row: CloudMachine, i: number) =>
    matched[i]?.machine.config?.image ?? row.image ?? undefined;
  const wanted = (row: CloudMachine, i: number) =>
    options.checkImageOf ? options.checkImageOf(row, matched[i]?.machine ?? null) : true;
  const images = [
    ...new Set(
      rows.flatMap((row, i) => {
        const image = wanted(row, i) ? imageOf(row, i) : undefined;
        return image === undefined ? [] : [image];
      }),
    ),
  ];
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
