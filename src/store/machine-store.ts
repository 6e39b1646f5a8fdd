import { z } from 'zod';
import type { MachineStatus } from '../contract/machine-status.ts';
import { cloudMachineRows, stuckRows } from './cloud-machine-rows.ts';
import { provisionCalls } from './provision-calls.ts';
import {
  type ClaimedProvisioning,
  claimedProvisioningSchema,
  type Provisioning,
  type ProvisionStep,
  provisioningSchema,
} from './provisioning-schemas.ts';
import { RpcStore } from './rpc-store.ts';
import {
  type CloudMachine,
  cloudMachineSchema,
  type MachineEvent,
  machineEventSchema,
  type ProvisionResult,
  provisionResultSchema,
  type StuckRow,
  stuckRowSchema,
  type UnmatchedWrite,
  unmatchedWriteSchema,
} from './store-schemas.ts';

export interface BeginProvisionInput {
  userId: string;
  flyApp: string;
  region: string;
  image: string;
  slackTeamId?: string;
  slackChannel?: string;
  requestedBy?: string;
  machineId?: string;
}

/** The store's calls on machine rows: provisioning and its progress, status, leases, reads. */
export class MachineStore extends RpcStore {
  beginProvision(input: BeginProvisionInput): Promise<ProvisionResult> {
    return this.call(
      'vyx_begin_provision',
      {
        p_user_id: input.userId,
        p_fly_app: input.flyApp,
        p_region: input.region,
        p_image: input.image,
        p_slack_team_id: input.slackTeamId,
        p_slack_channel: input.slackChannel,
        p_requested_by: input.requestedBy,
        p_machine_id: input.machineId,
      },
      provisionResultSchema,
    );
  }

  /**
   * `beginProvision` with its progress record (create key, step `row`, a lease held by `owner`) in
   * the same transaction: a crash can never leave the bot's row without its create key.
   */
  beginTrackedProvision(
    input: Omit<BeginProvisionInput, 'machineId'> & { createKey: string; owner: string; leaseS: number },
  ): Promise<ProvisionResult> {
    return this.run(provisionCalls.beginTrackedProvision(input));
  }

  /** Records a step and renews the lease. False: no longer this owner's (a recovery took it over). */
  provisionStep(
    machineId: string,
    owner: string,
    step: ProvisionStep,
    more: { leaseS?: number; flyMachineId?: string; detail?: string } = {},
  ): Promise<boolean> {
    return this.run(provisionCalls.provisionStep(machineId, owner, step, more));
  }

  /** Unfinished provisionings whose lease ran out (with `reclaimOwn`, also this owner's own). */
  claimProvisionings(
    owner: string,
    options: { leaseS?: number; reclaimOwn?: boolean; limit?: number } = {},
  ): Promise<ClaimedProvisioning[]> {
    return this.call(
      'vyx_claim_provisionings',
      {
        p_owner: owner,
        p_lease_s: options.leaseS,
        p_reclaim_own: options.reclaimOwn,
        p_limit: options.limit,
      },
      z.array(claimedProvisioningSchema),
    );
  }

  async getProvisioning(machineId: string): Promise<Provisioning | null> {
    const rows = await this.call(
      'vyx_get_provisioning',
      { p_machine_id: machineId },
      z.array(provisioningSchema),
      true,
    );
    return rows[0] ?? null;
  }

  /** Which of these rows a live provisioning is still working on. */
  provisioningInProgress(machineIds: string[]): Promise<string[]> {
    return this.call('vyx_provisioning_in_progress', { p_machine_ids: machineIds }, z.array(z.string()));
  }

  attachFlyMachine(machineId: string, flyMachineId: string, flyApp?: string): Promise<CloudMachine> {
    return this.run(provisionCalls.attachFlyMachine(machineId, flyMachineId, flyApp));
  }

  setSlackThread(machineId: string, channel: string, threadTs: string): Promise<CloudMachine> {
    return this.call(
      'vyx_set_slack_thread',
      { p_machine_id: machineId, p_slack_channel: channel, p_slack_thread_ts: threadTs },
      cloudMachineSchema,
    );
  }

  /**
   * Throws STORE_NOT_FOUND naming the id when no row matched: never a silent 0-row update.
   * `flyMachineId` is the reporter's own Fly id (the runtime's FLY_MACHINE_ID): recorded on a row
   * that has none, so the row is linked even when the bot never saw Fly's create answer.
   */
  reportStatus(
    machineId: string,
    status: MachineStatus,
    detail?: string,
    flyMachineId?: string,
  ): Promise<CloudMachine> {
    return this.call(
      'vyx_report_status',
      { p_machine_id: machineId, p_status: status, p_detail: detail, p_fly_machine_id: flyMachineId },
      cloudMachineSchema,
    );
  }

  heartbeat(machineId: string): Promise<string> {
    return this.call('vyx_heartbeat', { p_machine_id: machineId }, z.string());
  }

  recordWarning(machineId: string, code: string, detail: Record<string, unknown> = {}): Promise<number> {
    return this.call(
      'vyx_record_warning',
      { p_machine_id: machineId, p_code: code, p_detail: detail },
      z.coerce.number().int(),
    );
  }

  claimStuck(input: {
    owner: string;
    olderThanS: number;
    leaseS: number;
    limit?: number;
  }): Promise<CloudMachine[]> {
    return this.call(
      'vyx_claim_stuck',
      {
        p_owner: input.owner,
        p_older_than_s: input.olderThanS,
        p_lease_s: input.leaseS,
        p_limit: input.limit,
      },
      z.array(cloudMachineSchema),
      false,
      cloudMachineRows,
    );
  }

  /** The apps with claimable stuck rows (a row naming no app counts for `defaultApp`), how many, since when. */
  stuckApps(input: {
    defaultApp: string;
    olderThanS: number;
  }): Promise<{ fly_app: string; stuck: number; oldest: string }[]> {
    return this.call(
      'vyx_stuck_apps',
      { p_default_app: input.defaultApp, p_older_than_s: input.olderThanS },
      z.array(z.object({ fly_app: z.string(), stuck: z.coerce.number().int(), oldest: z.string() })),
      true,
    );
  }

  /**
   * One page of one app's stuck rows, claimed like `claimStuck`, in (status_changed_at, machine_id)
   * order after `after` (the previous page's last row): pages never repeat a row within a tick. Each
   * row comes with the columns the watcher judges by (StuckRow), not whole.
   */
  claimStuckPage(input: {
    owner: string;
    app: string;
    defaultApp: string;
    olderThanS: number;
    leaseS: number;
    limit: number;
    after?: { statusChangedAt: string; machineId: string };
    /** Leave rows a live provisioning is still working on unclaimed (`provisioningInProgress`). */
    skipProvisioning?: boolean;
  }): Promise<StuckRow[]> {
    return this.call(
      'vyx_claim_stuck_rows',
      {
        p_owner: input.owner,
        p_fly_app: input.app,
        p_default_app: input.defaultApp,
        p_older_than_s: input.olderThanS,
        p_lease_s: input.leaseS,
        p_limit: input.limit,
        p_after_at: input.after?.statusChangedAt,
        p_after_id: input.after?.machineId,
        p_skip_provisioning: input.skipProvisioning,
      },
      z.array(stuckRowSchema),
      false,
      stuckRows,
    );
  }

  releaseLeases(owner: string, machineIds?: string[]): Promise<number> {
    return this.call('vyx_release_leases', { p_owner: owner, p_machine_ids: machineIds }, z.number().int());
  }

  /** Which of these Fly machine ids some row points at (the orphan check, one call per app). */
  knownFlyIds(flyMachineIds: string[]): Promise<string[]> {
    return this.call('vyx_known_fly_ids', { p_fly_machine_ids: flyMachineIds }, z.array(z.string()));
  }

  /**
   * Status writes to cloud_machines that matched no row since `since`, newest first: the incident's
   * silent 204 (a runtime updating by a machine_id no row has), with who made each.
   */
  unmatchedStatusWrites(since: Date, limit?: number): Promise<UnmatchedWrite[]> {
    return this.call(
      'vyx_unmatched_status_writes',
      { p_since: since.toISOString(), p_limit: limit },
      z.array(unmatchedWriteSchema),
      true,
    );
  }

  /** Throws STORE_NOT_FOUND when there is no such machine. */
  getMachine(machineId: string): Promise<CloudMachine> {
    return this.run(provisionCalls.getMachine(machineId));
  }

  async findMachine(by: { machineId?: string; flyMachineId?: string }): Promise<CloudMachine | null> {
    const rows = await this.call(
      'vyx_find_machine',
      { p_machine_id: by.machineId, p_fly_machine_id: by.flyMachineId },
      z.array(cloudMachineSchema),
      true,
    );
    return rows[0] ?? null;
  }

  async getActiveMachine(userId: string): Promise<CloudMachine | null> {
    const rows = await this.run(provisionCalls.getActiveMachine(userId));
    return rows[0] ?? null;
  }

  listMachines(
    filter: { userId?: string; activeOnly?: boolean; limit?: number } = {},
  ): Promise<CloudMachine[]> {
    return this.call(
      'vyx_list_machines',
      { p_user_id: filter.userId, p_active_only: filter.activeOnly, p_limit: filter.limit },
      z.array(cloudMachineSchema),
      true,
    );
  }

  machineEvents(machineId: string, limit?: number): Promise<MachineEvent[]> {
    return this.call(
      'vyx_machine_events',
      { p_machine_id: machineId, p_limit: limit },
      z.array(machineEventSchema),
      true,
    );
  }
}
