import { hostname } from 'node:os';
import type { App } from '@slack/bolt';
import type { BotDeps } from '../commands/command-context.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { RegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import { Provisioner } from '../provision/provisioner.ts';
import { registerHandlers, type WorkTracker } from '../slack/register-handlers.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import { EchoWatcher } from '../watchers/echo-watcher.ts';
import { StuckWatcher } from '../watchers/stuck-watcher.ts';

export interface BotOptions {
  app: App;
  store: VyxStore;
  fly: FlyMachinesClient;
  registry: RegistryClient;
  slack: SlackPoster;
  logger: Logger;
  now?: () => Date;
  replicaId?: string;
  flyApp: string;
  flyRegion: string;
  flyImage: string;
  machineSupabaseUrl: string;
  machineSupabaseServiceKey: string | undefined;
  geminiApiKey?: string;
  alertChannel?: string;
  runbookUrl?: string;
  stuckSchedule: string;
  stuckAfterS: number;
  renotifyAfterS: number;
  echoPollMs: number;
  startTimeoutS: number;
  /** Wake the echo on database NOTIFY (local Postgres/PGlite); polling is the guarantee. */
  subscribe?: (wake: () => void) => Promise<() => Promise<void>>;
}

export interface Bot {
  deps: BotDeps;
  provisioner: Provisioner;
  stuck: StuckWatcher;
  echo: EchoWatcher;
  tracker: WorkTracker;
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
  const provisioner = new Provisioner({
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    slack: o.slack,
    logger: o.logger.child({ part: 'provision' }),
    now,
    config: {
      flyApp: o.flyApp,
      defaultRegion: o.flyRegion,
      defaultImage: o.flyImage,
      machineSupabaseUrl: o.machineSupabaseUrl,
      machineSupabaseServiceKey: o.machineSupabaseServiceKey,
      ...(o.geminiApiKey ? { machineEnvExtra: { geminiApiKey: o.geminiApiKey } } : {}),
      startTimeoutMs: o.startTimeoutS * 1000,
      stuckAfterS: o.stuckAfterS,
    },
  });
  const deps: BotDeps = {
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    slack: o.slack,
    provisioner,
    logger: o.logger,
    now,
    config: {
      flyApp: o.flyApp,
      stuckAfterS: o.stuckAfterS,
      ...(o.runbookUrl ? { runbookBaseUrl: o.runbookUrl } : {}),
    },
  };
  const tracker = registerHandlers(o.app, deps);
  const stuck = new StuckWatcher({
    store: o.store,
    fly: o.fly,
    registry: o.registry,
    logger: o.logger.child({ part: 'stuck' }),
    owner,
    defaultApp: o.flyApp,
    schedule: o.stuckSchedule,
    stuckAfterS: o.stuckAfterS,
    renotifyAfterS: o.renotifyAfterS,
    now,
  });
  const echo = new EchoWatcher({
    store: o.store,
    slack: o.slack,
    logger: o.logger.child({ part: 'echo' }),
    owner,
    ...(o.alertChannel ? { alertChannel: o.alertChannel } : {}),
    ...(o.runbookUrl ? { runbookBaseUrl: o.runbookUrl } : {}),
    pollMs: o.echoPollMs,
    now,
    ...(o.subscribe ? { subscribe: o.subscribe } : {}),
  });

  async function pendingMachines(): Promise<string[]> {
    const active = await o.store.listMachines({ activeOnly: true, limit: 100 });
    return active.filter((m) => m.status === 'starting').map((m) => m.machine_id);
  }

  return {
    deps,
    provisioner,
    stuck,
    echo,
    tracker,
    async idle() {
      if (tracker.inFlight > 0 || provisioner.busy()) return false;
      if ((await o.store.pendingEvents()).count > 0) {
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
      stuck.start();
      await echo.start();
    },
    async stop() {
      await stuck.stop();
      await echo.stop();
    },
  };
}
