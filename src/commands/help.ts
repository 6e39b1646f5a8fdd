import type { Card } from '../slack/cards/status-card.ts';
import { HELP_LINES } from './parse-command.ts';

export function helpCard(intro?: string): Card {
  const lines = HELP_LINES.map(([usage, what]) => `\`${usage}\` — ${what}`).join('\n');
  const text = `${intro ? `${intro}\n` : ''}*vyx* manages your cloud machine:\n${lines}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
