import type { FlyLogsClient } from '../fly/logs-client.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { RegionCatalogue } from '../fly/region-catalogue.ts';
import type { RegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import type { Provisioner } from '../provision/provisioner.ts';
import type { Card } from '../slack/cards/status-card.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { ViewPublisher } from '../slack/views/view-publisher.ts';
import type { SlackIdentity } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';

/** Everything commands and buttons act through (injected; tests pass twins or fakes). */
export interface BotDeps {
  store: VyxStore;
  fly: FlyMachinesClient;
  registry: RegistryClient;
  /** Fly's logs endpoint (`/vyx logs`, the Logs button). */
  logs: FlyLogsClient;
  /** The bot's own secret values, scrubbed from log lines besides the machine's own. */
  secretValues: () => readonly string[];
  /** Fly's regions, cached: `--region` is checked against them before anything is created. */
  regions: RegionCatalogue;
  slack: SlackPoster;
  /** views.open / views.publish (the start dialog, App Home). */
  views: ViewPublisher;
  provisioner: Provisioner;
  logger: Logger;
  now: () => Date;
  /** This replica's name (VYX_REPLICA_ID): leases it takes say so, so whoever is refused learns who. */
  owner?: string;
  config: {
    flyApp: string;
    /** FLY_IMAGE: what `/vyx start` runs when no image is named. */
    defaultImage: string;
    /** FLY_REGION: where `/vyx start` runs when no region is named (the dialog's preselection). */
    defaultRegion: string;
    /** VYX_START_DIALOG: `/vyx start` with no options opens a dialog (when Slack sent a trigger_id). */
    startDialog: boolean;
    stuckAfterS: number;
    runbookBaseUrl?: string;
  };
}

/** Who asked, where, and how to answer them privately. */
export interface CommandContext {
  deps: BotDeps;
  teamId: string;
  slackUserId: string;
  channelId: string;
  requestId: string;
  /** Slack's trigger_id of the command or click (opens a dialog once, within 3 s); absent in some paths. */
  triggerId?: string;
  /** Null: not linked (deny by default). */
  identity: SlackIdentity | null;
  /** An answer only the asker sees (response_url). */
  reply(answer: Card | string): Promise<void>;
}

/** What a handler tells the audit log. */
export interface Outcome {
  outcome: 'ok' | 'denied' | 'invalid' | 'error';
  machineId?: string;
  detail?: string;
}
