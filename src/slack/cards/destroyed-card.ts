import type { CloudMachine } from '../../store/store-schemas.ts';
import { age, escapeKeepingMentions } from './card-parts.ts';
import type { Card } from './status-card.ts';

/** `/vyx diagnose` on a destroyed row: that it is destroyed, when and by whom; no buttons. */
export function destroyedCard(machine: CloudMachine, now: Date): Card {
  const at = machine.status_changed_at ? new Date(machine.status_changed_at) : undefined;
  const when =
    at && !Number.isNaN(at.getTime())
      ? ` on ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC (${age(machine.status_changed_at, now)})`
      : '';
  const how = machine.status_detail ? ` — ${escapeKeepingMentions(machine.status_detail)}` : '';
  const text = `:black_circle: Machine \`${machine.machine_id}\` was destroyed${when}${how}. Nothing is left to diagnose; /vyx start makes a new one.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
