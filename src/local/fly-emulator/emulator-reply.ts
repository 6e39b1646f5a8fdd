/**
 * What every route of the Fly emulator answers with, the shape of a route, and the app/machine
 * lookups the Machines API routes share (an unknown app or machine is the API's own 404).
 */
import type { ImageCatalogue } from './image-catalogue.ts';
import type { MachineLifecycle } from './machine-lifecycle.ts';
import type { AppRecord, MachineRecord, MachineStore } from './machine-store.ts';

export interface Reply {
  status: number;
  body?: unknown;
  /** Plain-text body instead of JSON. */
  text?: string;
  /** A JSON body already serialised (a machine list, from each machine's cached JSON). */
  json?: Buffer;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  handler: (ctx: RequestContext) => Reply | Promise<Reply>;
}

export interface RequestContext {
  params: string[];
  query: URLSearchParams;
  body: unknown;
  method: string;
  /** The `fly-machine-lease-nonce` header, if sent. */
  leaseNonce?: string;
}

/** What the routes work on: one emulator's machines, images and processes. */
export interface EmulatorParts {
  store: MachineStore;
  catalogue: ImageCatalogue;
  lifecycle: MachineLifecycle;
  now: () => number;
  /** Region of machines created without one, and the `nearest` region. */
  region: string;
}

/** A Machines API error body (`{ error }`). */
export const apiError = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { error: message, ...extra },
});
export const NOT_FOUND_MACHINE = () => apiError(404, 'not_found: machine not found');

/** A route's path pattern, anchored; `SEGMENT` captures one path segment. */
export const routePattern = (source: string) => new RegExp(`^${source}$`);
export const SEGMENT = '([^/]+)';

export const appOr404 = (store: MachineStore, name: string | undefined): AppRecord | Reply => {
  const app = name === undefined ? undefined : store.app(name);
  return app ?? apiError(404, 'app not found');
};
export const machineOr404 = (store: MachineStore, ctx: RequestContext): MachineRecord | Reply => {
  const app = appOr404(store, ctx.params[0]);
  if (!('machines' in app)) return app;
  return app.machines.get(ctx.params[1] ?? '') ?? NOT_FOUND_MACHINE();
};
export const isReply = (value: unknown): value is Reply =>
  typeof value === 'object' &&
  value !== null &&
  'status' in value &&
  !('machines' in value) &&
  !('seq' in value);
