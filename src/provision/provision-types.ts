/** The Provisioner's dependencies, configuration, requests and outcomes (its helpers share them). */
import type { Diagnosis } from '../diagnose/diagnosis.ts';
import type { PreflightUnverified } from '../diagnose/preflight-image.ts';
import type { FlyMachinesClient } from '../fly/machines-client.ts';
import type { RegistryClient } from '../fly/registry-client.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';

/** What minting a machine's own credential needs: the project's JWT secret and anon key. */
export interface MachineCredentials {
  jwtSecret: string;
  anonKey: string;
}

export interface ProvisionConfig {
  flyApp: string;
  defaultRegion: string;
  /** e.g. `registry.fly.io/vyx-app:latest`. */
  defaultImage: string;
  /** What machines get as SUPABASE_URL and SUPABASE_SERVICE_KEY. */
  machineSupabaseUrl: string;
  machineSupabaseServiceKey: string | undefined;
  /**
   * Least privilege: with these each machine gets its own token (SUPABASE_MACHINE_TOKEN, minted here
   * for its row, with SUPABASE_ANON_KEY) instead of the service key.
   */
  machineCredentials?: MachineCredentials;
  /** Optional contract variables passed through (GEMINI_API_KEY, CPU_PRIORITY, …). */
  machineEnvExtra?: { geminiApiKey?: string; cpuPriority?: string; heartbeatIntervalS?: number };
  /** How long to wait for Fly to say `started`. */
  startTimeoutMs: number;
  /** Watcher threshold, for diagnoses made here. */
  stuckAfterS: number;
  /** VYX_PREFLIGHT_UNVERIFIED: when the registry cannot say whether the image exists. Default warn. */
  preflightUnverified?: PreflightUnverified;
}

export interface ProvisionDeps {
  store: VyxStore;
  fly: FlyMachinesClient;
  registry: RegistryClient;
  slack: SlackPoster;
  logger: Logger;
  now: () => Date;
  config: ProvisionConfig;
  /** This replica's name: the provisioning's progress is recorded under a lease it holds. */
  owner: string;
  /** Diagnoses counted by code (refusals, failures, provisionings given up). */
  metrics?: Pick<Metrics, 'diagnoses'>;
}

export interface ProvisionRequest {
  userId: string;
  slackTeamId: string;
  slackUserId: string;
  channel: string;
  region?: string;
  image?: string;
  requestId?: string;
  /** Called once the machine is really being made (past the existing-machine check and preflight). */
  onAccepted?: (machineId: string, warning?: string) => Promise<void>;
  /** The parent message could not be posted (the person is told privately what to do). */
  onThreadFailed?: (err: unknown) => Promise<void>;
}

export type ProvisionOutcome =
  | { kind: 'existing'; machine: CloudMachine }
  | { kind: 'refused'; diagnosis: Diagnosis; image: string }
  | { kind: 'started'; machine: CloudMachine }
  | { kind: 'failed'; machine: CloudMachine; diagnosis: Diagnosis }
  /** Fly's answer to the create was lost and Fly could not be asked: recovery resolves it. */
  | { kind: 'unresolved'; machine: CloudMachine; reason: string };
