import type { Diagnosis } from '../diagnose/diagnosis.ts';
import { STATUS_EMOJI } from '../slack/cards/card-parts.ts';
import { diagnosisCard } from '../slack/cards/diagnosis-card.ts';
import type { Card } from '../slack/cards/status-card.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';

/** How one machine's run of claimed events reads in its thread: status changes folded into one line. */
export function statusLine(events: ClaimedEvent[]): Card {
  const first = events[0]!;
  const chain = [first.old_status ?? undefined, ...events.map((e) => e.new_status ?? '?')].filter(Boolean);
  const last = events.at(-1)!;
  const emoji = STATUS_EMOJI[last.new_status ?? ''] ?? ':grey_question:';
  const details = events
    .map((e) => e.detail.detail)
    .filter((d): d is string => typeof d === 'string' && d !== '');
  const resolved = events.map((e) => e.detail.resolved_code).find((c): c is string => typeof c === 'string');
  const text =
    `${emoji} \`${first.machine_id}\` is now *${last.new_status}*` +
    (chain.length > 1 ? ` (${chain.join(' → ')})` : '') +
    (details.length ? ` — ${details.join('; ')}` : '') +
    (resolved ? `\n:white_check_mark: Resolved: the earlier ${resolved} no longer holds.` : '');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function diagnosisMessage(
  event: ClaimedEvent,
  runbookBaseUrl: string | undefined,
  hasRow: boolean,
): Card {
  const d = event.detail as unknown as Diagnosis & { seen_count?: number; first_seen_at?: string };
  const buttons = hasRow ? (['destroy', 'retry', 'silence'] as const) : (['silence'] as const);
  if (event.kind === 'reminder') {
    const minutes = d.first_seen_at
      ? Math.max(1, Math.round((Date.parse(event.created_at) - Date.parse(d.first_seen_at)) / 60000))
      : undefined;
    return diagnosisCard(
      { ...d, evidence: [] },
      {
        machineId: event.machine_id,
        runbookBaseUrl,
        reminder: `still stuck ×${d.seen_count ?? '?'}${minutes ? ` over ${minutes} min` : ''}`,
        buttons: [...buttons],
      },
    );
  }
  return diagnosisCard(d, { machineId: event.machine_id, runbookBaseUrl, buttons: [...buttons] });
}

export function warningMessage(event: ClaimedEvent): Card {
  const code = String(event.detail.code ?? 'WARNING');
  const facts = Object.entries(event.detail)
    .filter(([k]) => k !== 'code')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  const explain =
    code === 'MACHINE_ID_MISMATCH'
      ? 'The machine was started without MACHINE_ID; its runtime found this row by its Fly id and came up anyway. Fix the provisioner to pass MACHINE_ID.'
      : 'The runtime reported a warning.';
  const text = `:warning: *${code}* on \`${event.machine_id}\`: ${explain}${facts ? `\n_${facts}_` : ''}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
