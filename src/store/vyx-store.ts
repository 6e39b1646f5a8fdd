import { z } from 'zod';
import { InboundStore } from './inbound-store.ts';
import type { VyxStoreOptions } from './rpc-store.ts';
import {
  type Certainty,
  type ClaimedEvent,
  claimedEventSchema,
  diagnosisRecordSchema,
  type EvidenceItem,
  type FleetGlance,
  fleetGlanceSchema,
  type RecordDiagnosisResult,
  type Role,
  recordDiagnosisResultSchema,
  type SetAsideEvent,
  type SlackIdentity,
  setAsideEventSchema,
  slackIdentitySchema,
} from './store-schemas.ts';

export type { BeginProvisionInput } from './machine-store.ts';
export type { VyxStoreOptions } from './rpc-store.ts';

export interface RecordDiagnosisInput {
  machineId: string;
  code: string;
  summary: string;
  evidence: EvidenceItem[];
  fix: string;
  certainty: Certainty;
  markFailed?: boolean;
  renotifyAfterS?: number;
}

/**
 * The typed store: one method per SQL function in supabase/migrations, called through supabase-js
 * `rpc()` (plumbing in RpcStore, machine rows in MachineStore, alert cards in AlertStore, deliveries
 * and the audit log in InboundStore; here diagnoses, the outbox and identities). Results are
 * validated with zod; failures become coded VyxErrors (STORE_NOT_FOUND, STORE_CONFLICT,
 * STORE_INVALID, STORE_UNAUTHORIZED, STORE_UNAVAILABLE, STORE_FAILED).
 */
export class VyxStore extends InboundStore {
  recordDiagnosis(input: RecordDiagnosisInput): Promise<RecordDiagnosisResult> {
    return this.call(
      'vyx_record_diagnosis',
      {
        p_machine_id: input.machineId,
        p_code: input.code,
        p_summary: input.summary,
        p_evidence: input.evidence,
        p_fix: input.fix,
        p_certainty: input.certainty,
        p_mark_failed: input.markFailed,
        p_renotify_after_s: input.renotifyAfterS,
      },
      recordDiagnosisResultSchema,
    );
  }

  /**
   * Many diagnoses in one call (the watcher's tick), each recorded exactly as `recordDiagnosis`
   * records one. Returns, in order, what each produced. With `release`, the same call then gives
   * back these leases, as `releaseLeases` does (a page's last call).
   */
  recordDiagnoses(
    items: Omit<RecordDiagnosisInput, 'renotifyAfterS'>[],
    renotifyAfterS?: number,
    release?: { owner: string; machineIds: string[] },
  ): Promise<
    { machine_id: string; code: string; notice: 'diagnosis' | 'reminder' | null; marked_failed: boolean }[]
  > {
    return this.call(
      release ? 'vyx_record_page' : 'vyx_record_diagnoses',
      {
        ...(release ? { p_owner: release.owner, p_release_ids: release.machineIds } : {}),
        p_items: items.map((i) => ({
          machine_id: i.machineId,
          code: i.code,
          summary: i.summary,
          evidence: i.evidence,
          fix: i.fix,
          certainty: i.certainty,
          mark_failed: i.markFailed ?? false,
        })),
        p_renotify_after_s: renotifyAfterS,
      },
      z.array(
        z.object({
          machine_id: z.string(),
          code: z.string(),
          notice: z.enum(['diagnosis', 'reminder']).nullable(),
          marked_failed: z.boolean(),
        }),
      ),
    );
  }

  /** Renews the claim on these events; returns the ids still this owner's (fencing before a post). */
  async renewEvents(owner: string, ids: number[], leaseS?: number): Promise<number[]> {
    const rows = await this.call(
      'vyx_renew_events',
      { p_owner: owner, p_ids: ids, p_lease_s: leaseS },
      z.array(z.coerce.number().int()),
    );
    return rows;
  }

  claimEvents(input: { owner: string; limit?: number; leaseS?: number }): Promise<ClaimedEvent[]> {
    return this.call(
      'vyx_claim_events',
      { p_owner: input.owner, p_limit: input.limit, p_lease_s: input.leaseS },
      z.array(claimedEventSchema),
    );
  }

  /** Marks events delivered with their Slack ts; returns how many were newly marked. */
  ackEvents(owner: string, acks: { id: number; slackTs: string | null }[]): Promise<number> {
    return this.call(
      'vyx_ack_events',
      { p_owner: owner, p_acks: acks.map((a) => ({ id: a.id, slack_ts: a.slackTs })) },
      z.number().int(),
    );
  }

  releaseEvents(owner: string, ids?: number[], retryAfterS?: number): Promise<number> {
    return this.call(
      'vyx_release_events',
      { p_owner: owner, p_ids: ids, p_retry_after_s: retryAfterS },
      z.number().int(),
    );
  }

  /**
   * Sets aside events Slack will never accept where they belong: marked delivered (they no longer
   * block their machine's queue), with the reason and the fallback post's ts.
   */
  setAsideEvents(
    owner: string,
    items: { id: number; reason: string; slackTs: string | null }[],
  ): Promise<number> {
    return this.call(
      'vyx_set_aside_events',
      { p_owner: owner, p_items: items.map((i) => ({ id: i.id, reason: i.reason, slack_ts: i.slackTs })) },
      z.number().int(),
    );
  }

  /** Events set aside, newest first (for operators). */
  setAsideList(limit = 50): Promise<SetAsideEvent[]> {
    return this.call('vyx_set_aside_list', { p_limit: limit }, z.array(setAsideEventSchema), true);
  }

  /** Undelivered events of these machines. */
  pendingEventsOf(machineIds: string[]): Promise<number> {
    return this.call('vyx_pending_events_of', { p_machine_ids: machineIds }, z.number().int(), true);
  }

  /** Outbox events not delivered yet, and when the oldest was written. */
  pendingEvents(): Promise<{ count: number; oldest_at: string | null }> {
    return this.call(
      'vyx_pending_events',
      {},
      z.object({ count: z.number().int(), oldest_at: z.string().nullable() }),
      true,
    );
  }

  /**
   * Claims the owner's direct message for one failure event: their Slack id when this call is the
   * first (and they have not turned failure DMs off), else null. Claimed once across replicas.
   */
  claimOwnerNotice(eventId: number): Promise<string | null> {
    return this.call('vyx_claim_owner_notice', { p_event_id: eventId }, z.string().nullable());
  }

  /** Unclaims a notice whose message could not be sent. */
  async releaseOwnerNotice(eventId: number): Promise<void> {
    await this.call('vyx_release_owner_notice', { p_event_id: eventId }, z.unknown());
  }

  /**
   * An admin's App Home: machines starting, stuck, failed, orphans and silenced diagnoses, each
   * counted in full with its oldest `perGroup` (oldest first). Groups with nothing are absent.
   */
  fleetGlance(stuckAfterS: number, perGroup: number): Promise<FleetGlance> {
    return this.call(
      'vyx_fleet_glance',
      { p_stuck_after_s: stuckAfterS, p_per_group: perGroup },
      fleetGlanceSchema,
      true,
    );
  }

  /** `/vyx notify on|off`; false when the Slack user is not linked. */
  setFailureDm(slackTeamId: string, slackUserId: string, on: boolean): Promise<boolean> {
    return this.call(
      'vyx_set_failure_dm',
      { p_slack_team_id: slackTeamId, p_slack_user_id: slackUserId, p_on: on },
      z.boolean(),
    );
  }

  /** The Silence button: no reminders for this diagnosis until `until`. */
  async silenceDiagnosis(machineId: string, code: string, until: Date): Promise<void> {
    await this.call(
      'vyx_silence_diagnosis',
      { p_machine_id: machineId, p_code: code, p_until: until.toISOString() },
      diagnosisRecordSchema.loose(),
    );
  }

  linkIdentity(input: {
    slackTeamId: string;
    slackUserId: string;
    userId: string;
    role?: Role;
    linkedBy?: string;
  }): Promise<SlackIdentity> {
    return this.call(
      'vyx_link_identity',
      {
        p_slack_team_id: input.slackTeamId,
        p_slack_user_id: input.slackUserId,
        p_user_id: input.userId,
        p_role: input.role,
        p_linked_by: input.linkedBy,
      },
      slackIdentitySchema,
    );
  }

  /** Deny by default: null when the Slack user is not linked. */
  async getIdentity(slackTeamId: string, slackUserId: string): Promise<SlackIdentity | null> {
    const rows = await this.call(
      'vyx_get_identity',
      { p_slack_team_id: slackTeamId, p_slack_user_id: slackUserId },
      z.array(slackIdentitySchema),
      true,
    );
    return rows[0] ?? null;
  }
}

export function createVyxStore(options: VyxStoreOptions): VyxStore {
  return new VyxStore(options);
}
