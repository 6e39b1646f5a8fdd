import { formatDuration } from '../../diagnose/evidence.ts';
import { clip, escapeKeepingMentions, escapeMrkdwn } from './card-parts.ts';
import type { Card } from './status-card.ts';

export interface ResolvedAlertFacts {
  /** The row the card was about (`watcher:fly` for the watcher's own blindness). */
  machineId: string;
  code: string;
  summary: string;
  firstSeenAt: string;
  resolvedAt: string;
  /** Who or what ended it, in our words (mentions kept): "the machine's runtime, reporting *running*". */
  resolvedBy: string | null;
}

/**
 * The alert card once its diagnosis is over, edited in place: what it was, who or what resolved it,
 * and after how long. No buttons: there is nothing left to destroy, retry or silence from here.
 */
export function resolvedCard(a: ResolvedAlertFacts): Card {
  const seconds = Math.max(0, Math.round((Date.parse(a.resolvedAt) - Date.parse(a.firstSeenAt)) / 1000));
  const after = Number.isFinite(seconds) ? `after ${formatDuration(seconds)}` : '';
  const by = a.resolvedBy ? `by ${escapeKeepingMentions(a.resolvedBy)}` : '';
  const line = [`:white_check_mark: *Resolved* ${by}`.trim(), after].filter(Boolean).join(' ');
  const head = `~${a.code}~ on \`${escapeMrkdwn(a.machineId)}\``;
  const text = `${head}: ${clip(escapeMrkdwn(a.summary), 2000)}`;
  return {
    text: `Resolved: ${a.code} on ${a.machineId}${a.resolvedBy ? ` by ${a.resolvedBy}` : ''}${after ? ` ${after}` : ''}. Was: ${a.summary}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: line } },
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `first seen ${a.firstSeenAt.slice(0, 19).replace('T', ' ')} UTC · resolved ${a.resolvedAt.slice(0, 19).replace('T', ' ')} UTC · follow-ups in this thread`,
          },
        ],
      },
    ],
  };
}
