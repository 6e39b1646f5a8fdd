import { z } from 'zod';
import { MachineStore } from './machine-store.ts';

export const resolvedAlertSchema = z.object({
  machine_id: z.string(),
  code: z.string(),
  summary: z.string(),
  fix: z.string(),
  certainty: z.string(),
  first_seen_at: z.string(),
  resolved_at: z.string(),
  resolved_by: z.string().nullable(),
  alert_channel: z.string(),
  alert_ts: z.string(),
});
/** A diagnosis that is over, with the card to edit to resolved. */
export type ResolvedAlert = z.infer<typeof resolvedAlertSchema>;

export interface AlertCardPlace {
  machine_id: string;
  channel: string;
  ts: string;
}

/** The store's calls on alert cards: where each diagnosis's card is, and resolving them in place. */
export class AlertStore extends MachineStore {
  /** Remembers where diagnosis cards were posted (so they can be edited when resolved). */
  rememberAlerts(items: { machineId: string; code: string; channel: string; ts: string }[]): Promise<number> {
    return this.call(
      'vyx_remember_alerts',
      {
        p_items: items.map((i) => ({ machine_id: i.machineId, code: i.code, channel: i.channel, ts: i.ts })),
      },
      z.number().int(),
    );
  }

  /** The newest alert card of each of these machines (for follow-ups of rows with no thread). */
  alertCards(machineIds: string[]): Promise<AlertCardPlace[]> {
    return this.call(
      'vyx_alert_cards',
      { p_machine_ids: machineIds },
      z.array(z.object({ machine_id: z.string(), channel: z.string(), ts: z.string() })),
    );
  }

  /** Marks the machine's diagnoses (or these codes) resolved by `by`; answers the cards to edit, each once. */
  resolveAlerts(machineId: string, by: string, codes?: string[]): Promise<ResolvedAlert[]> {
    return this.call(
      'vyx_resolve_alerts',
      { p_machine_id: machineId, p_by: by, p_codes: codes },
      z.array(resolvedAlertSchema),
    );
  }

  /** The watcher sees Fly again: resolves an open WATCHER_BLIND under `key` (true when there was one). */
  resolveWatcherBlind(key: string, by: string): Promise<boolean> {
    return this.call('vyx_resolve_watcher_blind', { p_key: key, p_by: by }, z.boolean());
  }
}
