import type { ImageCatalogueEntry } from '../../src/local/fly-emulator/image-catalogue.ts';

/** The four bugs of incident 000's summary table; each switch on is that bug present. */
export interface SeededBugs {
  /** #1: the `DOCKER_IMAGE` secret names `:stub`, a tag that does not exist. */
  wrongImage?: boolean;
  /** #2: the edge function sends the key as `SUPABASE_SERVICE_ROLE_KEY`. */
  edgeSendsRoleKey?: boolean;
  /** #3: the runtime reads `SUPABASE_SERVICE_ROLE_KEY` (an image built before the fix). */
  runtimeReadsRoleKey?: boolean;
  /** #4: the edge function sends no `MACHINE_ID`. */
  noMachineId?: boolean;
}

export const ALL_BUGS: Required<SeededBugs> = {
  wrongImage: true,
  edgeSendsRoleKey: true,
  runtimeReadsRoleKey: true,
  noMachineId: true,
};

const REPO = 'registry.fly.io/vyx-app';
/** The deployments of incident 001's `fly releases`: v1 before the runtime's env fix, v2 after. */
export const IMAGE_BEFORE_FIX_3 = `${REPO}:deployment-01K6JB0TX9MACMV6XMSZXF94BC`;
export const IMAGE_AFTER_FIX_3 = `${REPO}:deployment-01K6JV132H7B7Y5PP8Y5QSR23X`;
export const LATEST = `${REPO}:latest`;
export const STUB = `${REPO}:stub`;

/** The `DOCKER_IMAGE` setting the edge function reads, for these bugs. */
export function dockerImageSetting(bugs: SeededBugs): string {
  if (bugs.wrongImage) return STUB;
  return bugs.runtimeReadsRoleKey ? IMAGE_BEFORE_FIX_3 : LATEST;
}

/** The registry as Fly held it: both deployments and `:latest` (tagged from v2); `:stub` absent. */
export function legacyImages(): ImageCatalogueEntry[] {
  const runtime = new URL('./legacy-runtime.ts', import.meta.url).pathname;
  const after = [process.execPath, runtime];
  return [
    { ref: LATEST, command: after },
    { ref: IMAGE_AFTER_FIX_3, command: after },
    { ref: IMAGE_BEFORE_FIX_3, command: [...after, '--before-fix-3'] },
  ];
}
