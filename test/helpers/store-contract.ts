import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { type STORE_VARIANTS, type StoreUnderTest, startStoreOn } from './store-backends.ts';

const IMAGE = 'registry.fly.io/vyx-app:latest';

// Supabase auth ids are uuids; a text user_id column holds them as well.
export const uniqueUser = (): string => randomUUID();

/**
 * The store contract's set-up on one variant (called inside its describe): the store started before
 * the tests and closed after; `s` reads the started one, so the suites split by concern share it.
 */
export function storeContract(variant: (typeof STORE_VARIANTS)[number]) {
  let current: StoreUnderTest | undefined;
  beforeAll(async () => {
    current = await startStoreOn(variant.kind, { userIdType: variant.userIdType });
  });
  afterAll(async () => {
    await current?.close();
  });
  const started = (): StoreUnderTest => {
    if (!current) throw new Error('the store under test has not started');
    return current;
  };
  const s = {
    get twin() {
      return started().twin;
    },
    get store() {
      return started().store;
    },
  };

  const begin = (userId = uniqueUser(), extra: Record<string, string> = {}) =>
    s.store.beginProvision({ userId, flyApp: 'vyx-app', region: 'ams', image: IMAGE, ...extra });

  /** Moves a row's time in its status back, as if it had been sitting there. */
  const backdate = (machineId: string, seconds: number) =>
    s.twin.backend.query(
      `update cloud_machines set status_changed_at = now() - make_interval(secs => $2) where machine_id = $1`,
      [machineId, seconds],
    );

  return { s, begin, backdate };
}
