import { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';
import { AlertStore } from './alert-store.ts';
import { CallBatcher } from './call-batcher.ts';
import { storableText } from './storable-text.ts';
import type { auditActionSchema, auditOutcomeSchema } from './store-schemas.ts';

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

/** The store's calls on Slack's inbound requests: the duplicate check and the audit log, each batched. */
export class InboundStore extends AlertStore {
  /**
   * Is this Slack delivery new? False when any of its keys (signature, trigger id) was seen in the
   * last `keepS` seconds, on any replica: a replay, a retry or a concurrent duplicate.
   */
  firstDelivery(keys: string[]): Promise<boolean> {
    // Refused here, not in the batch: one bad item would fail the others' call.
    if (keys.length === 0) {
      return Promise.reject(
        new VyxError('STORE_INVALID', 'a Slack delivery needs at least one key to be checked', {
          suggestion:
            'This is a bug in vyxbot: a delivery reached the duplicate check with nothing to identify it.',
        }),
      );
    }
    return this.deliveries.call(keys);
  }

  /** Whatever the text holds (NUL and other control characters included), the audit row is written. */
  recordAudit(input: AuditInput): Promise<number> {
    const t = storableText;
    return this.audits.call({
      action: input.action,
      name: t(input.name),
      outcome: input.outcome,
      slack_team_id: t(input.slackTeamId),
      slack_user_id: t(input.slackUserId),
      user_id: t(input.userId),
      args: t(input.args),
      machine_id: t(input.machineId),
      detail: t(input.detail),
      request_id: t(input.requestId),
    });
  }

  /** Every duplicate check and audit row asked for so far is written (shutdown waits for it). */
  async settled(): Promise<void> {
    await Promise.all([this.deliveries.idle(), this.audits.idle()]);
  }

  // Deliveries and audit rows come with the acks, often many at once: one call per batch, at most one
  // every few ms under load (a few ms more before a reply; none after a quiet spell) (issue #17.1).
  private readonly deliveries = new CallBatcher<string[], boolean>(
    (keySets) =>
      this.batchCall(
        'vyx_first_deliveries',
        { p_key_sets: keySets, p_keep_s: DELIVERY_KEEP_S },
        keySets.length,
        booleans,
      ),
    { minGapMs: 5 },
  );
  private readonly audits = new CallBatcher<Record<string, string | undefined>, number>(
    (rows) => this.batchCall('vyx_record_audits', { p_rows: rows }, rows.length, auditIds),
    { minGapMs: 20 },
  );

  /** One batched SQL function: its answer holds one result per item, in order. */
  private async batchCall<T>(
    fn: string,
    args: Record<string, unknown>,
    n: number,
    schema: z.ZodType<T[]>,
  ): Promise<T[]> {
    const out = await this.call(fn, args, schema);
    if (out.length !== n) {
      throw new VyxError('STORE_FAILED', `the database answered ${fn} for ${out.length} items, not ${n}`, {
        suggestion: 'Apply the latest migrations in supabase/migrations/ to this database.',
      });
    }
    return out;
  }
}

/** Keys are kept 10 minutes: past Slack's 5-minute signature window, so a replay inside it is caught. */
const DELIVERY_KEEP_S = 600;
const booleans = z.array(z.boolean());
const auditIds = z.array(z.coerce.number().int());
