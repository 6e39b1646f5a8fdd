/** Thousands of machines straight into the store, without processes: for benchmarks. */
import type { EmulatorParts } from './emulator-reply.ts';
import { machineImageRef } from './machine-image-ref.ts';

export interface BulkCreateOptions {
  app?: string;
  count: number;
  /** Final state of each machine. Default `started`. */
  state?: 'created' | 'started' | 'stopped' | 'destroyed';
  image?: string;
  region?: string | ((index: number) => string);
  metadata?: (index: number) => Record<string, string>;
  env?: (index: number) => Record<string, string>;
  autoDestroy?: boolean;
}

/** Creates the machines (in `bulk.app`, else `defaultApp`) and returns their ids. */
export function bulkCreateMachines(
  { store, catalogue, lifecycle, now, region }: EmulatorParts,
  defaultApp: string | undefined,
  bulk: BulkCreateOptions,
): string[] {
  const appName = bulk.app ?? defaultApp ?? 'vyx-app';
  const app = store.ensureApp(appName);
  const image = bulk.image ?? catalogue.list()[0]?.name ?? `registry.fly.io/${appName}:latest`;
  const found = catalogue.resolve(image);
  const finalState = bulk.state ?? 'started';
  const ids: string[] = [];
  for (let i = 0; i < bulk.count; i++) {
    const env = bulk.env?.(i);
    const metadata = bulk.metadata?.(i);
    const record = store.insert({
      id: store.newMachineId(),
      app: app.name,
      name: `bulk-${app.order.length}`,
      state: 'created',
      region: typeof bulk.region === 'function' ? bulk.region(i) : (bulk.region ?? region),
      instanceId: store.newVersion(),
      privateIp: store.newPrivateIp(),
      config: {
        image,
        ...(env ? { env } : {}),
        ...(metadata ? { metadata } : {}),
        ...(bulk.autoDestroy ? { auto_destroy: true } : {}),
        restart: { policy: 'no' },
        guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 256 },
      },
      imageRef: machineImageRef(image, found),
      events: [],
      createdAt: now(),
      updatedAt: now(),
      restartCount: 0,
      bulk: true,
    });
    store.addEvent(record, { type: 'launch', status: 'created', source: 'user' });
    if (finalState !== 'created') {
      store.addEvent(record, { type: 'start', status: 'started', source: 'flyd' });
      record.state = 'started';
    }
    if (finalState === 'stopped' || finalState === 'destroyed') lifecycle.stop(record);
    if (finalState === 'destroyed' && record.state !== 'destroyed') lifecycle.destroy(record, true);
    // Its document written once, as Fly stores a machine's, not on every list that shows it.
    store.jsonBytes(record);
    ids.push(record.id);
  }
  return ids;
}
