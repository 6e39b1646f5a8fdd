import type { Diagnosis } from '../../diagnose/diagnosis.ts';
import type { KnownBlock } from './card-parts.ts';
import { ACTIONS, button, clip, destroyButton, escapeMrkdwn } from './card-parts.ts';
import type { Card } from './status-card.ts';

export interface DiagnosisCardOptions {
  /** The machine it is about; absent for a refusal at /vyx start (no machine was made, no buttons). */
  machineId?: string;
  /** Where the runbook for each code lives (e.g. a repository URL ending in docs/diagnoses/). */
  runbookBaseUrl?: string;
  /** "still stuck ×3 over 20 min" for a folded reminder. */
  reminder?: string;
  /** Buttons: Destroy and Retry for a row; Silence for alerts. */
  buttons?: ('destroy' | 'retry' | 'silence' | 'diagnose' | 'logs')[];
}

const CERTAINTY: Record<Diagnosis['certainty'], string> = {
  certain: 'certain',
  likely: 'likely',
  possible: 'a guess',
};

/** The diagnosis card: code, summary, evidence table, fix, runbook link, and buttons. */
export function diagnosisCard(
  d: Pick<Diagnosis, 'code' | 'summary' | 'evidence' | 'fix' | 'certainty'>,
  options: DiagnosisCardOptions,
): Card {
  const runbook = options.runbookBaseUrl
    ? `${options.runbookBaseUrl.replace(/\/?$/, '/')}${d.code}.md`
    : undefined;
  const evidence = d.evidence
    .filter((e) => e.source !== 'fly logs')
    .slice(0, 12)
    .map((e) => `• *${escapeMrkdwn(e.fact)}*: ${escapeMrkdwn(e.value)} _(${e.source})_`)
    .join('\n');
  // The machine's log lines get their own block, never cut off by the evidence list's bounds: read as
  // lines in a code block (a backtick in them cannot close it), clipped inside the fence.
  const logs = d.evidence
    .filter((e) => e.source === 'fly logs')
    .map((e) =>
      e.value.includes('\n')
        ? `*${escapeMrkdwn(e.fact)}* _(${e.source})_\n\`\`\`${clip(escapeMrkdwn(e.value).replace(/`/g, "'"), 2800)}\`\`\``
        : `*${escapeMrkdwn(e.fact)}*: ${clip(escapeMrkdwn(e.value), 2800)} _(${e.source})_`,
    );
  const head = options.reminder
    ? `:repeat: *${d.code}* — ${escapeMrkdwn(options.reminder)}`
    : `:rotating_light: *${d.code}* (${CERTAINTY[d.certainty]})`;
  const id = options.machineId;
  const buttons = (id === undefined ? [] : (options.buttons ?? ['destroy', 'retry'])).map((b) =>
    b === 'destroy'
      ? destroyButton(id!)
      : b === 'retry'
        ? button('Retry', ACTIONS.retry, id!, { style: 'primary' })
        : b === 'silence'
          ? button('Silence', ACTIONS.silence, `${id}|${d.code}`)
          : b === 'logs'
            ? button('Logs', ACTIONS.logs, id!)
            : button('Diagnose', ACTIONS.diagnose, id!),
  );
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(`${head}\n${escapeMrkdwn(d.summary)}`, 3000) } },
    ...(evidence
      ? [
          {
            type: 'section' as const,
            text: { type: 'mrkdwn' as const, text: clip(`*Evidence*\n${evidence}`, 3000) },
          },
        ]
      : []),
    ...logs.map((text) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text } })),
    { type: 'section', text: { type: 'mrkdwn', text: clip(`*Fix*\n${escapeMrkdwn(d.fix)}`, 3000) } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${id === undefined ? 'no machine was created' : `machine \`${id}\``}${runbook ? ` · <${runbook}|runbook for ${d.code}>` : ''}`,
        },
      ],
    },
    ...(buttons.length ? [{ type: 'actions' as const, block_id: `diagnosis:${id}`, elements: buttons }] : []),
  ];
  return {
    text: `${options.reminder ? `${d.code} — ${options.reminder}` : d.code}${id === undefined ? '' : ` on ${id}`}: ${d.summary} Fix: ${d.fix}${runbook ? ` Runbook: ${runbook}` : ''}`,
    blocks,
  };
}
