import type { FlyLogsClient } from '../fly/logs-client.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { RegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { VyxStore } from '../store/vyx-store.ts';

/** What the stuck watcher and the fast watcher both judge rows with. */
export interface WatcherDeps {
  store: VyxStore;
  fly: Pick<FlyMachinesClient, 'listEach' | 'listSecretNames'>;
  registry: Pick<RegistryClient, 'checkImage'>;
  logger: Logger;
  /** The name leases and claims are held under. */
  owner: string;
  /** The app to look in when a row names none. */
  defaultApp: string;
  /** A diagnosis still true after this long is re-notified, folded. */
  renotifyAfterS?: number;
  now?: () => Date;
  metrics?: Metrics;
  /** Fly's logs endpoint: crash, OOM, silence and unknown cards carry the machine's last lines. */
  logs?: FlyLogsClient;
  /** Values to scrub from log lines besides the machine's own secret env values (the bot's credentials). */
  secretValues?: () => readonly string[];
}
