import type { ClaimedEvent } from '../../store/store-schemas.ts';
import { clip, type KnownBlock } from './card-parts.ts';
import { statusLine } from './echo-messages.ts';
import type { Card } from './status-card.ts';

/** Machines one burst message lists at most (Block Kit: 50 blocks; text well under 40,000 characters). */
export const DIGEST_MAX_MACHINES = 40;
const SECTION_MAX = 2900;
/** A machine's line at most: 40 of them stay under Slack's 40,000-character text. */
const LINE_MAX = 900;

/**
 * Several machines' status changes in one channel at once, as one message instead of one each
 * (Slack takes about one message a second per channel): every machine's line, with every change
 * it went through, oldest first. `machines` holds each machine's events in order.
 */
export function burstDigest(machines: ClaimedEvent[][]): Card {
  const lines = machines.map((events) => clip(statusLine(events).text.replace(/\n/g, ' '), LINE_MAX));
  const head = `:zap: *${machines.length} machine${machines.length === 1 ? '' : 's'} changed status just now* (one message for the burst; each machine's card shows its status)`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: head } }];
  let section = '';
  for (const line of lines) {
    const item = `• ${line}`;
    if (section && section.length + 1 + item.length > SECTION_MAX) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
      section = '';
    }
    section = section ? `${section}\n${item}` : item;
  }
  if (section) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
  return { text: `${head}\n${lines.map((l) => `• ${l}`).join('\n')}`, blocks };
}
