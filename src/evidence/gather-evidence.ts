import type { DiagnosisInput } from '../diagnose/diagnosis.ts';
import type { Machine } from '../fly/fly-types.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { ImageCheck, RegistryClient } from '../fly/registry-client.ts';
import type { CloudMachine, StuckRow } from '../store/store-schemas.ts';
import { indexMachines, type MachineFound, type MachineIndex } from './match-machine.ts';

export interface GatherDeps {
  fly: Pick<FlyMachinesClient, 'listEach' | 'listSecretNames'>;
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

/** One app as Fly lists it: its machines (watched fields only), an index over them, its secret names. */
export interface AppMachines {
  app: string;
  machines: Machine[];
  index: MachineIndex;
  /** Undefined when Fly would not say: the env rule then says "likely", not "certain". */
  secretNames: string[] | undefined;
}

/**
 * One list (include_deleted, streamed) and one secret-names call for an app: two requests however
 * many machines it has. Rejects when the list fails (the app cannot be judged this time).
 */
export async function listApp(
  app: string,
  deps: Pick<GatherDeps, 'fly'>,
  signal?: AbortSignal,
): Promise<AppMachines> {
  const machines: Machine[] = [];
  const [listed, secrets] = await Promise.allSettled([
    deps.fly.listEach(app, (m) => machines.push(m), { includeDeleted: true, ...(signal ? { signal } : {}) }),
    deps.fly.listSecretNames(app, { ...(signal ? { signal } : {}) }),
  ]);
  if (listed.status === 'rejected') throw listed.reason;
  return {
    app,
    machines,
    index: indexMachines(machines),
    secretNames: secrets.status === 'fulfilled' ? secrets.value : undefined,
  };
}

/** One registry check per distinct image, however many rows and pages ask (a failed check is `unknown`). */
export function imageChecks(deps: Pick<GatherDeps, 'registry'>, signal?: AbortSignal) {
  const checks = new Map<string, Promise<ImageCheck>>();
  return {
    get requests() {
      return checks.size;
    },
    check(image: string): Promise<ImageCheck> {
      let check = checks.get(image);
      if (!check) {
        check = deps.registry
          .checkImage(image, { signal })
          .catch((err: unknown) => ({ status: 'unknown', reason: (err as Error).message, imageRef: image }));
        checks.set(image, check);
      }
      return check;
    },
  };
}
export type ImageChecks = ReturnType<typeof imageChecks>;

/**
 * The DiagnosisInputs of rows of one app, matched together against the app's index, with their
 * image checks. `checkImageOf` picks which rows' images to check (default all).
 */
export async function inputsForApp<R extends StuckRow>(
  rows: R[],
  app: AppMachines,
  images: ImageChecks,
  options: {
    now: Date;
    stuckAfterS: number;
    checkImageOf?: (row: R, machine: Machine | null) => boolean;
  },
): Promise<DiagnosisInput[]> {
  const matched: (MachineFound | null)[] = app.index.matchAll(rows);
  const imageOf = (row: R, i: number) => matched[i]?.machine.config?.image ?? row.image ?? undefined;
  const checks = await Promise.all(
    rows.map((row, i) => {
      const image = imageOf(row, i);
      const wanted = options.checkImageOf ? options.checkImageOf(row, matched[i]?.machine ?? null) : true;
      return image !== undefined && wanted ? images.check(image) : undefined;
    }),
  );
  return rows.map((row, i): DiagnosisInput => {
    const m = matched[i];
    const check = checks[i];
    return {
      row,
      machine: m?.machine ?? null,
      ...(m ? { matchedBy: m.by } : {}),
      ...(check ? { imageCheck: check } : {}),
      ...(app.secretNames ? { secretNames: app.secretNames } : {}),
      now: options.now,
      stuckAfterS: options.stuckAfterS,
    };
  });
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
  const listed = new Map<string, AppMachines>();
  const failedApps = new Map<string, unknown>();
  const signal = options.signal;

  await Promise.all(
    apps.map(async (app) => {
      try {
        listed.set(app, await listApp(app, deps, signal));
      } catch (err) {
        failedApps.set(app, err);
      }
    }),
  );

  // Each app's rows are matched together, so the weakest key (USER_ID) skips machines that a
  // stronger key ties to another row.
  const images = imageChecks(deps, signal);
  const inputs: (DiagnosisInput | undefined)[] = rows.map(() => undefined);
  await Promise.all(
    apps.map(async (app) => {
      const mine = rows.flatMap((row, i) => (appOf(row) === app ? [i] : []));
      const evidence = listed.get(app) ?? {
        app,
        machines: [],
        index: indexMachines([]),
        secretNames: undefined,
      };
      const got = await inputsForApp(
        mine.map((i) => rows[i]!),
        evidence,
        images,
        options,
      );
      mine.forEach((rowIndex, k) => {
        inputs[rowIndex] = got[k];
      });
    }),
  );
  return {
    inputs: inputs as DiagnosisInput[],
    machinesByApp: new Map([...listed].map(([app, a]) => [app, a.machines])),
    failedApps,
    requests: { list: apps.length, secrets: apps.length, registry: images.requests },
  };
}
