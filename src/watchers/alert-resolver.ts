import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { resolvedCard } from '../slack/cards/resolved-card.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { UpdateBudget } from '../slack/update-budget.ts';
import type { ResolvedAlert } from '../store/alert-store.ts';
import type { ClaimedEvent, StatusWriter } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';

export interface AlertResolverOptions {
  store: Pick<VyxStore, 'rememberAlerts' | 'resolveAlerts' | 'getMachine'>;
  slack: Pick<SlackPoster, 'update'>;
  budget: UpdateBudget;
  logger: Logger;
}

/** Statuses that end a machine's diagnoses: it came up, or it is gone. */
const ENDS = new Set(['running', 'destroyed']);

/** Who or what wrote the status, in a card's words. */
export function resolvedBy(event: ClaimedEvent, writer: StatusWriter | null | undefined): string {
  const detail = typeof event.detail.detail === 'string' ? event.detail.detail : '';
  const user = /^destroyed by (<@[A-Z0-9]+>)/.exec(detail);
  if (user) return `\`/vyx destroy\` by ${user[1]}`;
  const status = `*${event.new_status}*`;
  if (writer?.role === 'vyx_machine') return `the machine's runtime, reporting ${status}`;
  if (!writer) return `the row's status becoming ${status}`;
  const who = writer.path
    ? `${writer.role ?? writer.db_user ?? 'a writer'} via ${writer.path}`
    : `${writer.role ?? writer.db_user ?? 'a writer'}${writer.application ? ` (${writer.application})` : ''}`;
  return `${status} written by ${who}`;
}

/**
 * Alert cards that resolve in place: remembers where each diagnosis card was posted, and when the
 * machine recovers or is destroyed (or a `resolved` event says a diagnosis is over) edits the card
 * itself to resolved — who or what resolved it and after how long — instead of posting anything new.
 * The database hands each card to one replica once.
 */
export class AlertResolver {
  private readonly o: AlertResolverOptions;

  constructor(options: AlertResolverOptions) {
    this.o = options;
  }

  /** A diagnosis card was posted (channel, ts): remember it for when it resolves. */
  async remember(events: ClaimedEvent[], channel: string, ts: string): Promise<void> {
    const items = events
      .filter((e) => e.kind === 'diagnosis' && typeof e.detail.code === 'string')
      .map((e) => ({ machineId: e.machine_id, code: String(e.detail.code), channel, ts }));
    if (items.length === 0) return;
    await this.o.store.rememberAlerts(items).catch((err: unknown) => {
      // The card stays as posted; it is not lost, only not editable later.
      this.o.logger.warn(
        { err: errorLine(err), machineId: items[0]!.machineId },
        'echo: alert card not remembered',
      );
    });
  }

  /** Whether these delivered status events end the machine's diagnoses. */
  ends(events: ClaimedEvent[]): boolean {
    const last = events.filter((e) => e.kind === 'status').at(-1);
    if (!last || !ENDS.has(last.new_status ?? '')) return false;
    // `running` ends a diagnosis only for a row that had one (the trigger names it); destroyed always may.
    return last.new_status === 'destroyed' || events.some((e) => typeof e.detail.resolved_code === 'string');
  }

  /** The machine came up or is gone: its alert cards say resolved, and by whom. */
  async afterStatus(events: ClaimedEvent[]): Promise<void> {
    if (!this.ends(events)) return;
    const last = events.filter((e) => e.kind === 'status').at(-1)!;
    const byUser = typeof last.detail.detail === 'string' && last.detail.detail.startsWith('destroyed by <@');
    const writer = byUser
      ? undefined
      : await this.o.store
          .getMachine(last.machine_id)
          .then((r) => r.status_written_by)
          .catch(() => undefined);
    await this.resolve(last.machine_id, resolvedBy(last, writer));
  }

  /** A `resolved` event (a diagnosis with no row status to end it, e.g. WATCHER_BLIND). */
  async resolvedEvent(e: ClaimedEvent): Promise<string | null> {
    const code = typeof e.detail.code === 'string' ? e.detail.code : undefined;
    const by = typeof e.detail.by === 'string' ? e.detail.by : 'the condition ending';
    const cards = await this.resolve(e.machine_id, by, code ? [code] : undefined);
    return cards[0]?.alert_ts ?? null;
  }

  private async resolve(machineId: string, by: string, codes?: string[]): Promise<ResolvedAlert[]> {
    const cards = await this.o.store.resolveAlerts(machineId, by, codes);
    for (const a of cards) {
      const card = resolvedCard({
        machineId: a.machine_id,
        code: a.code,
        summary: a.summary,
        firstSeenAt: a.first_seen_at,
        resolvedAt: a.resolved_at,
        resolvedBy: a.resolved_by,
      });
      try {
        await this.o.budget.take();
        await this.o.slack.update({
          channel: a.alert_channel,
          ts: a.alert_ts,
          text: card.text,
          blocks: card.blocks,
        });
      } catch (err) {
        // Reported, not retried: the diagnosis is resolved in the database either way.
        this.o.logger.error(
          { err: errorLine(err), machineId, code: a.code, channel: a.alert_channel, ts: a.alert_ts },
          'echo: could not edit the alert card to resolved',
        );
      }
    }
    return cards;
  }
}
