import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { z } from 'zod';
import type { MachineStatus } from '../contract/machine-status.ts';
import { VyxError } from '../errors/vyx-error.ts';
import {
  type ClaimedProvisioning,
  claimedProvisioningSchema,
  type Provisioning,
  type ProvisionStep,
  provisioningSchema,
} from './provisioning-schemas.ts';
import { storableText } from './storable-text.ts';
import { storeErrorFrom } from './store-error.ts';
import {
  type auditActionSchema,
  type auditOutcomeSchema,
  type Certainty,
  type ClaimedEvent,
  type CloudMachine,
  claimedEventSchema,
  cloudMachineSchema,
  diagnosisRecordSchema,
  type EvidenceItem,
  type MachineEvent,
  machineEventSchema,
  type ProvisionResult,
  provisionResultSchema,
  type RecordDiagnosisResult,
  type Role,
  recordDiagnosisResultSchema,
  type SetAsideEvent,
  type SlackIdentity,
  setAsideEventSchema,
  slackIdentitySchema,
  type UnmatchedWrite,
  unmatchedWriteSchema,
} from './store-schemas.ts';

export interface VyxStoreOptions {
  /** `SUPABASE_URL` (Supabase or the local twin). */
  url: string;
  /** Sent as `apikey`: `SUPABASE_SERVICE_KEY` (the bot), or the anon key with `accessToken` (a machine). */
  serviceKey: string;
  /** A JWT sent as `Authorization: Bearer` instead of the key: a machine's own credential. */
  accessToken?: string;
  /** Per-call deadline. */
  timeoutMs?: number;
  /** Injected fetch (tests); defaults to the global one. */
  fetch?: typeof fetch;
}

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

export interface AuditInput {
  action: z.infer<typeof auditActionSchema>;
  name: string;
  outcome: z.infer<typeof auditOutcomeSchema>;
  slackTeamId?: string;
  slackUserId?: string;
  userId?: string;
  args?: string;
  machineId?: string;
  detail?: string;
  requestId?: string;
}

/**
 * The typed store: one method per SQL function in supabase/migrations, called through supabase-js
 * `rpc()`. Results are validated with zod; failures become coded VyxErrors (STORE_NOT_FOUND,
 * STORE_CONFLICT, STORE_INVALID, STORE_UNAUTHORIZED, STORE_UNAVAILABLE, STORE_FAILED).
 */
export class VyxStore {
  private readonly sb: SupabaseClient;

  constructor(options: VyxStoreOptions) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const baseFetch = options.fetch ?? fetch;
    this.sb = createClient(options.url, options.serviceKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      // No hidden retries (1 s, 2 s, 4 s on a 503): an outage is answered within 2 s, in our words.
      db: { retry: false },
      global: {
        ...(options.accessToken ? { headers: { Authorization: `Bearer ${options.accessToken}` } } : {}),
        fetch: (input, init) =>
          baseFetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
      },
    });
  }

  private async call<T>(
    fn: string,
    args: Record<string, unknown>,
    schema: z.ZodType<T>,
    get = false,
  ): Promise<T> {
    const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    const { data, error, status } = await this.sb.rpc(fn, clean, { get });
    if (error) throw storeErrorFrom(fn, status, error);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new VyxError('STORE_FAILED', `the database answered ${fn} in an unexpected shape`, {
        suggestion: 'Apply the latest migrations in supabase/migrations/ to this database.',
        details: {
          function: fn,
          issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
        },
      });
    }
    return parsed.data;
  }

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
    return this.call(
      'vyx_begin_tracked_provision',
      {
        p_user_id: input.userId,
        p_fly_app: input.flyApp,
        p_region: input.region,
        p_image: input.image,
        p_create_key: input.createKey,
        p_owner: input.owner,
        p_lease_s: input.leaseS,
        p_slack_team_id: input.slackTeamId,
        p_slack_channel: input.slackChannel,
        p_requested_by: input.requestedBy,
      },
      provisionResultSchema,
    );
  }

  /** Records a step and renews the lease. False: no longer this owner's (a recovery took it over). */
  provisionStep(
    machineId: string,
    owner: string,
    step: ProvisionStep,
    more: { leaseS?: number; flyMachineId?: string; detail?: string } = {},
  ): Promise<boolean> {
    return this.call(
      'vyx_provision_step',
      {
        p_machine_id: machineId,
        p_owner: owner,
        p_step: step,
        p_lease_s: more.leaseS,
        p_fly_machine_id: more.flyMachineId,
        p_detail: more.detail,
      },
      z.boolean(),
    );
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
    return this.call(
      'vyx_attach_fly_machine',
      { p_machine_id: machineId, p_fly_machine_id: flyMachineId, p_fly_app: flyApp },
      cloudMachineSchema,
    );
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
    );
  }

  releaseLeases(owner: string, machineIds?: string[]): Promise<number> {
    return this.call('vyx_release_leases', { p_owner: owner, p_machine_ids: machineIds }, z.number().int());
  }

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
   * records one. Returns, in order, what each produced.
   */
  recordDiagnoses(
    items: Omit<RecordDiagnosisInput, 'renotifyAfterS'>[],
    renotifyAfterS?: number,
  ): Promise<
    { machine_id: string; code: string; notice: 'diagnosis' | 'reminder' | null; marked_failed: boolean }[]
  > {
    return this.call(
      'vyx_record_diagnoses',
      {
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

  /** Outbox events not delivered yet, and when the oldest was written. */
  pendingEvents(): Promise<{ count: number; oldest_at: string | null }> {
    return this.call(
      'vyx_pending_events',
      {},
      z.object({ count: z.number().int(), oldest_at: z.string().nullable() }),
      true,
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

  /** Throws STORE_NOT_FOUND when there is no such machine. */
  getMachine(machineId: string): Promise<CloudMachine> {
    return this.call('vyx_get_machine', { p_machine_id: machineId }, cloudMachineSchema, true);
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
    const rows = await this.call(
      'vyx_get_active_machine',
      { p_user_id: userId },
      z.array(cloudMachineSchema),
      true,
    );
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

  /**
   * Is this Slack delivery new? False when any of its keys (signature, trigger id) was seen in the
   * last `keepS` seconds, on any replica: a replay, a retry or a concurrent duplicate.
   */
  firstDelivery(keys: string[], keepS = 600): Promise<boolean> {
    return this.call('vyx_first_delivery', { p_keys: keys, p_keep_s: keepS }, z.boolean());
  }

  /** Whatever the text holds (NUL and other control characters included), the audit row is written. */
  recordAudit(input: AuditInput): Promise<number> {
    const t = storableText;
    return this.call(
      'vyx_record_audit',
      {
        p_action: input.action,
        p_name: t(input.name),
        p_outcome: input.outcome,
        p_slack_team_id: t(input.slackTeamId),
        p_slack_user_id: t(input.slackUserId),
        p_user_id: t(input.userId),
        p_args: t(input.args),
        p_machine_id: t(input.machineId),
        p_detail: t(input.detail),
        p_request_id: t(input.requestId),
      },
      z.coerce.number().int(),
    );
  }
}

export function createVyxStore(options: VyxStoreOptions): VyxStore {
  return new VyxStore(options);
}
