import type { CloudMachine, FleetGlance, FleetGroupKey } from '../../store/store-schemas.ts';
import type { KnownBlock } from '../cards/card-parts.ts';
import {
  ACTIONS,
  age,
  button,
  clip,
  destroyButton,
  escapeMrkdwn,
  restartButton,
  STATUS_EMOJI,
  stopButton,
} from '../cards/card-parts.ts';

/** At most this many machines of one's own on Home (3 blocks each; Block Kit allows 100 per view). */
export const HOME_MACHINES_MAX = 10;

/** A view as views.publish takes it. */
export interface HomeView {
  type: 'home';
  callback_id: string;
  blocks: KnownBlock[];
}

export interface HomeInput {
  /** Null: the person is not linked to a vyx user (they see how to get linked). */
  linked: boolean;
  /** Their machines, newest first (at most HOME_MACHINES_MAX are shown; `more` says there are others). */
  machines: CloudMachine[];
  more: boolean;
  /** Admins: the fleet at a glance. */
  fleet?: FleetGlance;
  now: Date;
}

const FLEET_GROUPS: { key: FleetGroupKey; title: string; emoji: string }[] = [
  { key: 'stuck', title: 'Stuck', emoji: ':warning:' },
  { key: 'failed', title: 'Failed', emoji: ':red_circle:' },
  { key: 'starting', title: 'Starting', emoji: ':hourglass_flowing_sand:' },
  { key: 'orphans', title: 'Orphans (Fly machines no row claims)', emoji: ':ghost:' },
  { key: 'silenced', title: 'Silenced diagnoses', emoji: ':no_bell:' },
];

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: clip(text, 3000) },
});

/** One of my machines: a line, its details, and the buttons its cards carry (same action ids). */
function machineBlocks(m: CloudMachine, now: Date): KnownBlock[] {
  const emoji = STATUS_EMOJI[m.status] ?? ':grey_question:';
  const details = [
    `region ${m.region ?? '—'}`,
    `image ${m.image ? `\`${escapeMrkdwn(m.image)}\`` : '—'}`,
    `started ${age(m.created_at, now)}`,
    m.diagnosis ? `last diagnosis \`${m.diagnosis.code}\` ${escapeMrkdwn(m.diagnosis.summary)}` : '',
  ].filter(Boolean);
  const active = ['starting', 'running', 'stopping'].includes(m.status);
  const buttons = [
    ...(m.status !== 'destroyed' ? [destroyButton(m.machine_id)] : []),
    button('Diagnose', ACTIONS.diagnose, m.machine_id),
    button('Logs', ACTIONS.logs, m.machine_id),
    ...(m.fly_machine_id && m.status !== 'destroyed' ? [restartButton(m.machine_id)] : []),
    ...(m.fly_machine_id && active ? [stopButton(m.machine_id)] : []),
    ...(!active ? [button('Retry', ACTIONS.retry, m.machine_id, { style: 'primary' })] : []),
  ];
  return [
    section(`${emoji} \`${m.machine_id}\` is *${m.status}* (${age(m.status_changed_at, now)})`),
    { type: 'context', elements: [{ type: 'mrkdwn', text: clip(details.join(' · '), 3000) }] },
    { type: 'actions', block_id: `home:${m.machine_id}`, elements: buttons },
  ];
}

function fleetBlocks(fleet: FleetGlance, now: Date): KnownBlock[] {
  const blocks: KnownBlock[] = [
    { type: 'divider' },
    { type: 'header', text: { type: 'plain_text', text: 'The fleet at a glance' } },
  ];
  const counts = FLEET_GROUPS.map(
    (g) => `${g.emoji} ${g.title.split(' (')[0]}: *${fleet[g.key]?.count ?? 0}*`,
  );
  blocks.push(section(counts.join('   ')));
  for (const g of FLEET_GROUPS) {
    const group = fleet[g.key];
    if (!group || group.count === 0) continue;
    const lines = group.oldest.map(
      (o) =>
        `• \`${escapeMrkdwn(o.machine_id)}\`${o.user_id ? ` · ${escapeMrkdwn(o.user_id)}` : ''} · ${g.key === 'silenced' ? `until ${o.since.slice(0, 16).replace('T', ' ')} UTC` : age(o.since, now)}${o.detail ? ` · ${escapeMrkdwn(o.detail)}` : ''}`,
    );
    const rest = group.count - group.oldest.length;
    blocks.push(
      section(
        `${g.emoji} *${g.title}: ${group.count}* (oldest first)\n${lines.join('\n')}${rest > 0 ? `\n…and ${rest} more` : ''}`,
      ),
    );
  }
  return blocks;
}

/** The App Home: my machines (status, age, region, image, last diagnosis, buttons); for admins the fleet. */
export function homeView(input: HomeInput): HomeView {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'My machines' } }];
  if (!input.linked) {
    blocks.push(
      section(
        'You are not linked to a vyx user yet, so I can’t show or start machines for you. Ask an admin to run `/vyx link @you <vyx-user-id>`.',
      ),
    );
  } else if (input.machines.length === 0) {
    blocks.push(section('You have no machines yet. `/vyx start` starts one.'));
  } else {
    for (const m of input.machines.slice(0, HOME_MACHINES_MAX)) blocks.push(...machineBlocks(m, input.now));
    if (input.more || input.machines.length > HOME_MACHINES_MAX)
      blocks.push({
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: `The newest ${HOME_MACHINES_MAX} are shown; \`/vyx list\` has more.` },
        ],
      });
  }
  if (input.fleet) blocks.push(...fleetBlocks(input.fleet, input.now));
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `Updated ${input.now.toISOString().slice(0, 19).replace('T', ' ')} UTC` },
    ],
  });
  return { type: 'home', callback_id: 'vyx_home', blocks };
}
