import type { Diagnosis } from '../../diagnose/diagnosis.ts';
import { formatDuration } from '../../diagnose/evidence.ts';
import type { ClaimedEvent } from '../../store/store-schemas.ts';
import { STATUS_EMOJI } from './card-parts.ts';
import { diagnosisCard } from './diagnosis-card.ts';
import type { Card } from './status-card.ts';

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
  // No Destroy for a row that is already destroyed: the button would only say so.
  const buttons = !hasRow
    ? (['silence'] as const)
    : event.status === 'destroyed'
      ? (['retry', 'silence'] as const)
      : (['destroy', 'retry', 'silence'] as const);
  // Cards that carry log lines offer more of them (privately, through /vyx logs): only rows' cards
  // carry them, thread or not.
  const logs = (d.evidence ?? []).some((e) => e.source === 'fly logs') ? (['logs'] as const) : [];
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
        buttons: [...buttons, ...logs],
      },
    );
  }
  return diagnosisCard(d, { machineId: event.machine_id, runbookBaseUrl, buttons: [...buttons, ...logs] });
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

const DOWN = new Set(['failed', 'stopped']);
const UP = new Set(['starting', 'running']);

/**
 * Restarts seen in a machine's status chain: each return to starting/running after failed/stopped
 * within it. The first event's own move does not count: a row that comes back once, long after it
 * failed, is a recovery, not a flap.
 */
export function restartsIn(events: ClaimedEvent[]): number {
  let count = 0;
  let previous: ClaimedEvent | undefined;
  for (const e of events) {
    if (e.kind !== 'status') continue;
    // "stopped by SIGTERM": the runtime was sent a stop (a person, flyctl, /vyx stop|restart); coming
    // back from that was asked for, so it is no flap.
    const asked =
      typeof previous?.detail.detail === 'string' && previous.detail.detail.startsWith('stopped by ');
    if (previous && DOWN.has(previous.new_status ?? '') && UP.has(e.new_status ?? '') && !asked) count++;
    if (e.new_status) previous = e;
  }
  return count;
}

/** The runtime's words for how the workload ended, as exit code and signal: "killed by SIGKILL (signal 9)" → 137, SIGKILL. */
export function exitOf(detail: string): { code: number; signal?: string } | undefined {
  const killed = /killed by (SIG[A-Z0-9]+) \(signal (\d+)\)/.exec(detail);
  if (killed) return { code: 128 + Number(killed[2]), signal: killed[1]! };
  const exited = /exited with code (\d+)/.exec(detail);
  return exited ? { code: Number(exited[1]) } : undefined;
}

/**
 * A flapping machine's one message, updated in place: "restarted 5× in 35 s, last exit 137,
 * SIGKILL — now running". Undefined when the chain holds no restart (then `statusLine` says it).
 * A "resolved" in the chain is not repeated: a machine that keeps crashing has resolved nothing.
 */
export function flapStory(events: ClaimedEvent[]): Card | undefined {
  const statuses = events.filter((e) => e.kind === 'status');
  const restarts = restartsIn(statuses);
  if (restarts === 0) return undefined;
  const first = statuses[0]!;
  const last = statuses.at(-1)!;
  const seconds = Math.max(
    0,
    Math.round((Date.parse(last.created_at) - Date.parse(first.created_at)) / 1000),
  );
  const exit = statuses
    .map((e) => (typeof e.detail.detail === 'string' ? exitOf(e.detail.detail) : undefined))
    .filter((x) => x !== undefined)
    .at(-1);
  const emoji = STATUS_EMOJI[last.new_status ?? ''] ?? ':grey_question:';
  const text =
    `:repeat: \`${first.machine_id}\` restarted ${restarts}× in ${formatDuration(seconds)}` +
    (exit ? `, last exit ${exit.code}${exit.signal ? `, ${exit.signal}` : ''}` : '') +
    ` — now ${emoji} *${last.new_status}*. Fly restarts it after each exit nobody asked for (up to its retry limit); this message is updated as it goes.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** The story and, once there is one, the machine's diagnosis under it: still one message. */
export function storyWithDiagnosis(story: Card, diagnosis: Card | undefined): Card {
  if (!diagnosis) return story;
  return { text: `${story.text}\n${diagnosis.text}`, blocks: [...story.blocks, ...diagnosis.blocks] };
}
