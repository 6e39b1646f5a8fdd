import type { CloudMachine } from '../../store/store-schemas.ts';
import type { KnownBlock } from './card-parts.ts';
import {
  ACTIONS,
  age,
  button,
  destroyButton,
  escapeKeepingMentions,
  escapeMrkdwn,
  fieldsSection,
  restartButton,
  STATUS_EMOJI,
  stopButton,
} from './card-parts.ts';

export interface Card {
  /** Fallback text: notifications, screen readers, and clients without blocks. */
  text: string;
  blocks: KnownBlock[];
}

/** The machine's card (`title` is ours, mrkdwn allowed): status, region, image, age, heartbeat, last diagnosis, and what you can do. */
export function statusCard(
  machine: CloudMachine,
  now: Date,
  options: {
    title?: string;
    lead?: string /** Who holds the Fly lease, when someone does. */;
    leaseHolder?: string;
  } = {},
): Card {
  const emoji = STATUS_EMOJI[machine.status] ?? ':grey_question:';
  const title = options.title ?? `Machine ${machine.machine_id}`;
  const fields: [string, string][] = [
    [
      'Status',
      `${emoji} ${machine.status}${machine.status_detail ? ` (${escapeKeepingMentions(machine.status_detail)})` : ''}`,
    ],
    ['Owner', machine.requested_by ? `<@${machine.requested_by}>` : escapeMrkdwn(machine.user_id)],
    ['Region', machine.region ?? '—'],
    ['Image', machine.image ? `\`${escapeMrkdwn(machine.image)}\`` : '—'],
    ['Started', age(machine.created_at, now)],
    ['Last heartbeat', age(machine.last_heartbeat_at, now)],
  ];
  if (machine.fly_machine_id) fields.push(['Fly machine', `\`${machine.fly_machine_id}\``]);
  if (options.leaseHolder) fields.push(['Fly lease', `held by ${escapeMrkdwn(options.leaseHolder)}`]);
  if (machine.diagnosis)
    fields.push([
      'Last diagnosis',
      `\`${machine.diagnosis.code}\` ${escapeMrkdwn(machine.diagnosis.summary)}`,
    ]);

  const active = ['starting', 'running', 'stopping'].includes(machine.status);
  const buttons = [
    ...(machine.status !== 'destroyed' ? [destroyButton(machine.machine_id)] : []),
    button('Diagnose', ACTIONS.diagnose, machine.machine_id),
    // Restart/Stop act on the Fly machine, so only when one is recorded.
    ...(machine.fly_machine_id && machine.status !== 'destroyed' ? [restartButton(machine.machine_id)] : []),
    ...(machine.fly_machine_id && active ? [stopButton(machine.machine_id)] : []),
    ...(!active ? [button('Retry', ACTIONS.retry, machine.machine_id, { style: 'primary' })] : []),
  ];
  return {
    text: `${options.lead ? `${options.lead} ` : ''}${title}: ${machine.status}${machine.region ? ` in ${machine.region}` : ''}`,
    blocks: [
      ...(options.lead
        ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: options.lead } }]
        : []),
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `${emoji} *${title}* is *${machine.status}*` },
      },
      fieldsSection(fields),
      { type: 'actions', block_id: `machine:${machine.machine_id}`, elements: buttons },
    ],
  };
}
