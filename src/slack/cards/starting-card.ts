import { escapeMrkdwn } from './card-parts.ts';
import type { Card } from './status-card.ts';

/** The private "starting" answer; a preflight warning (image not checked) is part of it, not only a log line. */
export function startingCard(machineId: string, warning: string | undefined): Card {
  const text = `Starting machine \`${machineId}\`… I’ll post it in this channel and follow it in a thread.`;
  if (!warning) return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  const caution = `:warning: ${escapeMrkdwn(warning)}`;
  return {
    text: `${text} ${warning}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'section', text: { type: 'mrkdwn', text: caution } },
    ],
  };
}
