import { hostname } from 'node:os';
import type { App } from '@slack/bolt';
import type { BotDeps } from '../commands/command-context.ts';
import { errorLine } from '../errors/error-line.ts';
import type { FlyLogsClient } from '../fly/logs-client.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import { createRegionCatalogue } from '../fly/region-catalogue.ts';
import type { RegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { countSlackCalls, countViewCalls } from '../observability/slack-metrics.ts';
import type { AbandonedProvision } from '../provision/abandon-provision.ts';
import type { MachineCredentials } from '../provision/provision-types.ts';
import { Provisioner } from '../provision/provisioner.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import { type ViewPublisher, viewPublisherFrom } from '../slack/views/view-publisher.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import { EchoWatcher } from '../watchers/echo-watcher.ts';
import { FastWatcher } from '../watchers/fast-watcher.ts';
import { HomeRefresher } from '../watchers/home-refresher.ts';
import { ProvisionRecovery } from '../watchers/provision-recovery.ts';
import { StuckWatcher } from '../watchers/stuck-watcher.ts';
import type { AckFirst } from './inbound/ack-first.ts';
import { registerHandlers, type WorkTracker } from './inbound/register-handlers.ts';
import { registerViewHandlers } from './inbound/register-views.ts';

export interface BotOptions {
  app: App;
  store: VyxStore;
  fly: FlyMachinesClient;
  registry: RegistryClient;
  /** Fly's logs endpoint: cards and /vyx logs show machines' output. */
  logs: FlyLogsClient;
  /** The bot's own secret values, scrubbed from machine log lines too. */
  secretValues?: () => readonly string[];
  slack: SlackPoster;
  /** views.open / views.publish; default: the Bolt app's own client. */
  views?: ViewPublisher;
  /** VYX_START_DIALOG: `/vyx start` with no options opens the start dialog. Default false. */
  startDialog?: boolean;
  /** App Home re-renders of one person are at most this often (default 1 000 ms). */
  homeDebounceMs?: number;
  logger: Logger;
  now?: () => Date;
  replicaId?: string;
  flyApp: string;
  flyRegion: string;
  flyImage: string;
  machineSupabaseUrl: string;
  machineSupabaseServiceKey: string | undefined;
  /** Each machine gets its own least-privilege token instead of the service key (see provisioner). */
  machineCredentials?: MachineCredentials;
  geminiApiKey?: string;
  alertChannel?: string;
  runbookUrl?: string;
  stuckSchedule: string;
  stuckAfterS: number;
  renotifyAfterS: number;
  echoPollMs: number;
  /** VYX_FAST_WATCH_MS: how often certain failures of `starting` rows are looked for (default 2000; 0: off, the stuck watcher alone). */
  fastWatchMs?: number;
  startTimeoutS: number;
  /** VYX_PREFLIGHT_UNVERIFIED (default warn). */
  preflightUnverified?: 'refuse' | 'warn';
  /** Wake the echo on database NOTIFY (local Postgres/PGlite); polling is the guarantee. */
  subscribe?: (wake: () => void) => Promise<() => Promise<void>>;
  /** Prometheus metrics (commands, watchers, diagnoses, Slack calls); none when absent. */
  metrics?: Metrics;
  /** Shared with the HTTP receiver: commands' work after ack() waits until no request awaits its ack. */
  ackFirst?: AckFirst;
}

export interface Bot {
  deps: BotDeps;
  provisioner: Provisioner;
  stuck: StuckWatcher;
  /** Certain failures of `starting` rows within seconds; the stuck watcher is the backstop. */
  fast: FastWatcher;
  echo: EchoWatcher;
  /** App Home: rendered when opened, re-rendered when the machines it shows change. */
  home: HomeRefresher;
  /** Resolves provisionings a crash or a lost Fly answer left unfinished (start-up and every tick). */
  recovery: ProvisionRecovery;
  tracker: WorkTracker;
  /** The name leases and claims are held under (`VYX_REPLICA_ID`, else host-pid). */
  owner: string;
  /** Commands and provisionings in progress. */
  busy(): boolean;
  /**
   * Shutdown, at the deadline: each provisioning still running is given up — its row marked failed
   * with a diagnosis, its half-made Fly machine destroyed, its user told to start again.
   */
  abandonProvisions(why: string): Promise<AbandonedProvision[]>;
  /** Nothing in flight and nothing undelivered (the local shell waits for this). */
  idle(): Promise<boolean>;
  describeWork(): Promise<string>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The bot: commands and buttons on the Bolt app, the provisioner, and both watchers. */
export function createBot(o: BotOptions): Bot {
  const now = o.now ?? (() => new Date());
  const owner = o.replicaId ?? `${hostname()}-${process.pid}`;
  const slack = countSlackCalls(o.slack, o.metrics);
  const provisioner = new Provisioner({
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    slack,
    logger: o.logger.child({ part: 'provision' }),
    now,
    owner,
    ...(o.metrics ? { metrics: o.metrics } : {}),
    config: {
      flyApp: o.flyApp,
      defaultRegion: o.flyRegion,
      defaultImage: o.flyImage,
      machineSupabaseUrl: o.machineSupabaseUrl,
      machineSupabaseServiceKey: o.machineSupabaseServiceKey,
      ...(o.machineCredentials ? { machineCredentials: o.machineCredentials } : {}),
      ...(o.geminiApiKey ? { machineEnvExtra: { geminiApiKey: o.geminiApiKey } } : {}),
      startTimeoutMs: o.startTimeoutS * 1000,
      stuckAfterS: o.stuckAfterS,
      ...(o.preflightUnverified ? { preflightUnverified: o.preflightUnverified } : {}),
    },
  });
  const regions = createRegionCatalogue(o.fly);
  const views = countViewCalls(o.views ?? viewPublisherFrom(o.app.client), o.metrics);
  const deps: BotDeps = {
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    logs: o.logs,
    secretValues: o.secretValues ?? (() => []),
    regions,
    slack,
    views,
    provisioner,
    logger: o.logger,
    now,
    owner,
    config: {
      flyApp: o.flyApp,
      defaultImage: o.flyImage,
      defaultRegion: o.flyRegion,
      startDialog: o.startDialog ?? false,
      stuckAfterS: o.stuckAfterS,
      ...(o.runbookUrl ? { runbookBaseUrl: o.runbookUrl } : {}),
    },
  };
  const tracker = registerHandlers(o.app, deps, { inFlight: 0 }, o.metrics, o.ackFirst);
  const home = new HomeRefresher({
    store: o.store,
    views,
    logger: o.logger.child({ part: 'home' }),
    now,
    stuckAfterS: o.stuckAfterS,
    ...(o.homeDebounceMs !== undefined ? { debounceMs: o.homeDebounceMs } : {}),
  });
  registerViewHandlers(o.app, deps, home, tracker, o.metrics);
  const recovery = new ProvisionRecovery({
    store: o.store,
    fly: o.fly,
    slack,
    logger: o.logger.child({ part: 'recovery' }),
    owner,
    defaultApp: o.flyApp,
    stuckAfterS: o.stuckAfterS,
    now,
  });
  const stuck = new StuckWatcher({
    recovery,
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    logger: o.logger.child({ part: 'stuck' }),
    owner,
    defaultApp: o.flyApp,
    logs: o.logs,
    ...(o.secretValues ? { secretValues: o.secretValues } : {}),
    schedule: o.stuckSchedule,
    stuckAfterS: o.stuckAfterS,
    renotifyAfterS: o.renotifyAfterS,
    now,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  const fast = new FastWatcher({
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    logger: o.logger.child({ part: 'fast' }),
    owner,
    defaultApp: o.flyApp,
    logs: o.logs,
    ...(o.secretValues ? { secretValues: o.secretValues } : {}),
    ...(o.fastWatchMs ? { intervalMs: o.fastWatchMs } : {}),
    stuckAfterS: o.stuckAfterS,
    renotifyAfterS: o.renotifyAfterS,
    now,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  const echo = new EchoWatcher({
    store: o.store,
    slack,
    logger: o.logger.child({ part: 'echo' }),
    owner,
    ...(o.alertChannel ? { alertChannel: o.alertChannel } : {}),
    ...(o.runbookUrl ? { runbookBaseUrl: o.runbookUrl } : {}),
    pollMs: o.echoPollMs,
    now,
    ...(o.subscribe ? { subscribe: o.subscribe } : {}),
    ...(o.metrics ? { metrics: o.metrics } : {}),
    onMachineChanged: (e) => home.machineChanged(e),
  });

  /** Machines started here that are still starting. */
  async function pendingMachines(): Promise<string[]> {
    const startedHere = provisioner.machinesStartedHere();
    if (startedHere.length === 0) return [];
    const rows = await Promise.all(startedHere.map((id) => o.store.getMachine(id).catch(() => undefined)));
    return rows.filter((m) => m?.status === 'starting').map((m) => m!.machine_id);
  }

  return {
    deps,
    provisioner,
    stuck,
    fast,
    echo,
    home,
    recovery,
    tracker,
    owner,
    busy: () => tracker.inFlight > 0 || provisioner.busy(),
    abandonProvisions: (why) => provisioner.abandonAll(why, o.logger.child({ part: 'shutdown' })),
    async idle() {
      if (tracker.inFlight > 0 || provisioner.busy() || home.busy()) return false;
      // Only the news of machines started here: rows other people or earlier runs started are not
      // this session's work (and an undeliverable event is set aside, never waited on).
      const startedHere = provisioner.machinesStartedHere();
      if (startedHere.length > 0 && (await o.store.pendingEventsOf(startedHere)) > 0) {
        echo.wake();
        return false;
      }
      return (await pendingMachines()).length === 0;
    },
    async describeWork() {
      const starting = await pendingMachines().catch(() => []);
      const parts = [
        tracker.inFlight ? `${tracker.inFlight} command(s) in flight` : '',
        starting.length ? `machine(s) still starting: ${starting.join(', ')}` : '',
      ].filter(Boolean);
      return parts.join('; ') || 'undelivered Slack messages';
    },
    async start() {
      // Fly's regions are fetched now, so a `--region` check costs no request (a failure is retried on use).
      void regions.warm();
      // This replica's own provisionings from before a restart: its previous process is gone.
      await recovery.run({ reclaimOwn: true }).catch((err: unknown) => {
        o.logger.error({ err: errorLine(err) }, 'provisioning recovery at start-up failed');
      });
      performance.mark('vyx:recovery');
      stuck.start();
      performance.mark('vyx:stuck-started');
      if (o.fastWatchMs !== 0) fast.start();
      await echo.start();
    },
    async stop() {
      await stuck.stop();
      await fast.stop();
      await echo.stop();
      await home.stop();
    },
  };
}
