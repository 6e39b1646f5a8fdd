// What one stuck-watcher tick reports, and what it carries from app to app while it runs.
import type { ImageChecks } from '../evidence/gather-evidence.ts';
import type { UnmatchedWrite } from '../store/store-schemas.ts';
import type { Recovered } from './provision-recovery.ts';

export interface TickReport {
  /** Stuck rows taken up: claimed and judged, or, in an app Fly could not list, counted unclaimed. */
  claimed: number;
  diagnosed: {
    machineId: string;
    code: string;
    notice: 'diagnosis' | 'reminder' | null;
    markedFailed: boolean;
  }[];
  orphans: number;
  flyRequests: number;
  /** Requests to Fly's logs endpoint this tick (bounded). */
  logRequests: number;
  /** Apps Fly could not list this tick. */
  blind: string[];
  /** Unfinished provisionings resolved this tick. */
  recovered: Recovered[];
}

/** What one tick carries from app to app. */
export interface TickState {
  now: Date;
  report: TickReport;
  /** Claimable stuck rows per app when the tick began. */
  stuck: Map<string, number>;
  failedApps: Map<string, unknown>;
  images: ImageChecks;
  writes: UnmatchedWrite[] | undefined;
  /** Log requests left this tick: for stuck rows, and for crash loops. */
  logBudget: { rows: number; loops: number };
}
