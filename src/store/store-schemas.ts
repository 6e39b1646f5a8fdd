import { z } from 'zod';
import { machineStatusSchema } from '../contract/machine-status.ts';

// Row shapes as the SQL functions return them (snake_case: the database is the contract).
// Timestamps stay ISO strings; `status` is loose on reads because rows written before vyxbot may
// hold words outside the vocabulary.

const timestamp = z.string();
const nullableText = z.string().nullable();

export const diagnosisSummarySchema = z.object({
  code: z.string(),
  summary: z.string(),
  fix: z.string(),
  certainty: z.string(),
  at: z.string().optional(),
});

export const statusWriterSchema = z
  .object({
    role: z.string().optional(),
    method: z.string().optional(),
    path: z.string().optional(),
    sub: z.string().optional(),
    machine_id: z.string().optional(),
    db_user: z.string().optional(),
    application: z.string().optional(),
  })
  .loose();
export type StatusWriter = z.infer<typeof statusWriterSchema>;

export const cloudMachineSchema = z.object({
  machine_id: z.string(),
  user_id: z.string(),
  status: z.string(),
  updated_at: timestamp,
  created_at: timestamp,
  status_changed_at: timestamp,
  status_detail: nullableText,
  fly_app: nullableText,
  fly_machine_id: nullableText,
  region: nullableText,
  image: nullableText,
  last_heartbeat_at: timestamp.nullable(),
  slack_team_id: nullableText,
  slack_channel: nullableText,
  slack_thread_ts: nullableText,
  requested_by: nullableText,
  diagnosis: diagnosisSummarySchema.nullable(),
  flagged_at: timestamp.nullable(),
  lease_owner: nullableText,
  lease_until: timestamp.nullable(),
  /** Who wrote the current status (role, request method/path, database user); absent on old rows. */
  status_written_by: statusWriterSchema.nullable().optional(),
});
export type CloudMachine = z.infer<typeof cloudMachineSchema>;

/** A claimed stuck row: the columns the watcher judges by (vyx_claim_stuck_rows). */
export const stuckRowSchema = cloudMachineSchema.pick({
  machine_id: true,
  user_id: true,
  status: true,
  status_changed_at: true,
  created_at: true,
  fly_app: true,
  fly_machine_id: true,
  image: true,
  last_heartbeat_at: true,
  status_written_by: true,
});
export type StuckRow = z.infer<typeof stuckRowSchema>;

export const provisionResultSchema = z.object({ created: z.boolean(), machine: cloudMachineSchema });
export type ProvisionResult = z.infer<typeof provisionResultSchema>;

export const eventKindSchema = z.enum(['status', 'diagnosis', 'reminder', 'warning', 'resolved']);
export type EventKind = z.infer<typeof eventKindSchema>;

/** What every outbox event says about itself. */
const eventCore = z.object({
  id: z.coerce.number().int(),
  machine_id: z.string(),
  kind: eventKindSchema,
  old_status: nullableText,
  new_status: nullableText,
  detail: z.record(z.string(), z.unknown()),
  created_at: timestamp,
  attempts: z.number().int(),
});

export const machineEventSchema = eventCore.extend({
  claimed_by: nullableText,
  claim_until: timestamp.nullable(),
  delivered_at: timestamp.nullable(),
  slack_ts: nullableText,
});
export type MachineEvent = z.infer<typeof machineEventSchema>;

/** An outbox event with what the echo needs to post it (the row may be gone: orphans). */
export const claimedEventSchema = eventCore.extend({
  slack_team_id: nullableText,
  slack_channel: nullableText,
  slack_thread_ts: nullableText,
  user_id: nullableText,
  status: nullableText,
  fly_app: nullableText,
  fly_machine_id: nullableText,
});
export type ClaimedEvent = z.infer<typeof claimedEventSchema>;

export const certaintySchema = z.enum(['certain', 'likely', 'possible']);
export type Certainty = z.infer<typeof certaintySchema>;

export const evidenceItemSchema = z.object({
  fact: z.string(),
  value: z.string(),
  source: z.string(),
  at: z.string().optional(),
});
export type EvidenceItem = z.infer<typeof evidenceItemSchema>;

export const diagnosisRecordSchema = z.object({
  machine_id: z.string(),
  code: z.string(),
  summary: z.string(),
  evidence: z.array(evidenceItemSchema),
  fix: z.string(),
  certainty: certaintySchema,
  first_seen_at: timestamp,
  last_seen_at: timestamp,
  seen_count: z.number().int(),
  notified_at: timestamp.nullable(),
  notify_count: z.number().int(),
  resolved_at: timestamp.nullable(),
});
export type DiagnosisRecord = z.infer<typeof diagnosisRecordSchema>;

export const recordDiagnosisResultSchema = z.object({
  diagnosis: diagnosisRecordSchema,
  notice: z.enum(['diagnosis', 'reminder']).nullable(),
  marked_failed: z.boolean(),
});
export type RecordDiagnosisResult = z.infer<typeof recordDiagnosisResultSchema>;

export const roleSchema = z.enum(['member', 'admin']);
export type Role = z.infer<typeof roleSchema>;

export const slackIdentitySchema = z.object({
  slack_team_id: z.string(),
  slack_user_id: z.string(),
  user_id: z.string(),
  role: roleSchema,
  linked_by: nullableText,
  created_at: timestamp,
  updated_at: timestamp,
});
export type SlackIdentity = z.infer<typeof slackIdentitySchema>;

export const auditActionSchema = z.enum(['command', 'button', 'request']);
export const auditOutcomeSchema = z.enum(['ok', 'denied', 'invalid', 'error', 'duplicate']);

export { machineStatusSchema };

/** A status write to cloud_machines that matched no row, and who made it (PostgREST's request settings). */
export const unmatchedWriteSchema = z.object({
  at: timestamp,
  role: nullableText,
  method: nullableText,
  path: nullableText,
  sub: nullableText,
  machine_id: nullableText,
  db_user: nullableText,
});
export type UnmatchedWrite = z.infer<typeof unmatchedWriteSchema>;
/** An outbox event set aside as undeliverable where it belonged (see vyx_set_aside_events). */
export const setAsideEventSchema = z.object({
  id: z.number().int(),
  machine_id: z.string(),
  kind: z.string(),
  attempts: z.number().int(),
  reason: z.string(),
  slack_ts: z.string().nullable(),
  created_at: z.string(),
  set_aside_at: z.string(),
});
export type SetAsideEvent = z.infer<typeof setAsideEventSchema>;

/** vyx_fleet_glance: per group (starting, stuck, failed, orphans, silenced), its count and oldest rows. */
export const fleetGroupKeys = ['starting', 'stuck', 'failed', 'orphans', 'silenced'] as const;
export type FleetGroupKey = (typeof fleetGroupKeys)[number];
const fleetGroupSchema = z.object({
  count: z.coerce.number().int(),
  oldest: z.array(
    z.object({ machine_id: z.string(), user_id: z.string(), since: timestamp, detail: z.string() }),
  ),
});
export const fleetGlanceSchema = z.partialRecord(z.enum(fleetGroupKeys), fleetGroupSchema);
export type FleetGlance = z.infer<typeof fleetGlanceSchema>;
