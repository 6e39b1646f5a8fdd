import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/diagnose/diagnose.ts';
import type { Diagnosis, DiagnosisInput } from '../../src/diagnose/diagnosis.ts';
import { preflightImage } from '../../src/diagnose/preflight-image.ts';
import { orphanMachine } from '../../src/diagnose/rules/orphan-machine.ts';
import type { Machine } from '../../src/fly/fly-types.ts';
import type { ImageCheck } from '../../src/fly/registry-client.ts';
import { destroyedCard } from '../../src/slack/cards/destroyed-card.ts';
import { diagnosisCard } from '../../src/slack/cards/diagnosis-card.ts';
import {
  diagnosisMessage,
  flapStory,
  statusLine,
  warningMessage,
} from '../../src/slack/cards/echo-messages.ts';
import { startingCard } from '../../src/slack/cards/starting-card.ts';
import type { Card } from '../../src/slack/cards/status-card.ts';
import { statusCard } from '../../src/slack/cards/status-card.ts';
import type { ClaimedEvent, CloudMachine } from '../../src/store/store-schemas.ts';
import { events, GOOD_ENV, IMAGE, input, iso, machine, NOW } from '../diagnose/fixtures.ts';

/**
 * Issue 14.5: every card and message template rendered with sample values must read as English
 * with its variables in place. The checks below are what a reader trips over: a variable that did
 * not fill in, a bold span with a space inside, words that contradict the state, a fix that names
 * neither a command nor an exact outside step.
 */
function problems(text: string): string[] {
  const found: string[] = [];
  const bad: [RegExp, string][] = [
    [/\bundefined\b|\bnull\b|\bNaN\b|\[object Object\]|\$\{/, 'a variable did not fill in'],
    [/[^\S\n]{2,}/, 'a double space (an empty variable?)'],
    [/[^\S\n][.,;:](?:\s|$)/, 'a space before punctuation'],
    [/``|\*\*|\(\)/, 'an empty span'],
    [/still says (destroyed|failed|stopped)/, 'words that contradict the state'],
    [/You already have machine/, '"You already have machine … is" does not read'],
    [/\b(\w{2,}) \1\b/i, 'a doubled word'],
  ];
  for (const [re, why] of bad)
    if (re.test(text)) found.push(`${why}: ${JSON.stringify(text.match(re)?.[0])}`);
  for (const line of text.split('\n')) {
    for (const span of line.matchAll(/(?<![\w*])\*([^*\n]+)\*(?![\w*])/g)) {
      if (/^\s|\s$/.test(span[1]!)) found.push(`bold with a space inside: ${JSON.stringify(span[0])}`);
    }
  }
  return found;
}

/** Every text a card shows: the fallback and each block's text. */
function textsOf(card: Card): string[] {
  const out = [card.text];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'text' && typeof value === 'string') out.push(value);
        else walk(value);
      }
    }
  };
  walk(card.blocks);
  return out;
}

const expectReads = (card: Card, mustContain: string[]) => {
  for (const t of textsOf(card)) expect(problems(t), t).toEqual([]);
  for (const m of mustContain) expect(card.text, `"${m}" in ${card.text}`).toContain(m);
};

const ROW_STATUSES = ['starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed'];
const unknown = (httpStatus?: number, errorCode?: string): ImageCheck => ({
  status: 'unknown',
  reason: httpStatus ? `the registry answered ${httpStatus}` : 'the registry did not answer within 10000 ms',
  imageRef: IMAGE,
  ...(httpStatus ? { httpStatus } : {}),
  ...(errorCode ? { errorCode } : {}),
});
const IMAGE_CHECKS: ImageCheck[] = [
  { status: 'exists', digest: 'sha256:1', imageRef: IMAGE },
  {
    status: 'missing',
    reason: 'MANIFEST_UNKNOWN: manifest unknown',
    imageRef: 'registry.fly.io/vyx-app:stub',
    httpStatus: 404,
    errorCode: 'MANIFEST_UNKNOWN',
  },
  {
    status: 'missing',
    reason: 'NAME_UNKNOWN: repository name not known to registry',
    imageRef: 'registry.fly.io/vyx-ap:latest',
    httpStatus: 404,
    errorCode: 'NAME_UNKNOWN',
  },
  unknown(401, 'UNAUTHORIZED'),
  unknown(403, 'DENIED'),
  unknown(503),
  unknown(),
];
const pullFailed = {
  type: 'launch',
  status: 'failed',
  source: 'flyd',
  timestamp: NOW.getTime() - 20_000,
  request: { error: `failed to pull image ${IMAGE}: manifest unknown` },
};
const loop = [0, 1, 2].flatMap((i) => [
  events.exit(10 + i * 4, 137, { restarting: i > 0 || undefined }),
  events.start(12 + i * 4),
]);
const MACHINES: (Machine | null)[] = [
  null,
  machine(),
  machine({ events: [events.start(600), events.launch(602)] }),
  machine({ state: 'destroyed', events: [events.destroy(5), events.start(10), events.launch(12)] }),
  machine({ state: 'destroyed', events: [events.destroy(5), pullFailed, events.launch(25)] }),
  machine({ state: 'stopped', events: [events.exit(5, 1), events.start(10)] }),
  machine({ state: 'stopped', events: [events.exit(5, 78), events.start(10)] }),
  machine({ state: 'stopped', events: [events.exit(5, 137, { oom_killed: true }), events.start(10)] }),
  machine({ state: 'stopped', events: [events.exit(5, 137), events.start(10)] }),
  machine({ state: 'started', events: loop }),
  machine({ state: 'created', events: [events.launch(900)] }),
  machine({ state: 'started', host_status: 'unreachable' }),
  machine({ state: 'stopped', events: [events.exit(5, 0), events.start(10)] }),
  machine({ env: { ...GOOD_ENV, MACHINE_ID: 'vyx-other000' } }),
  machine({
    env: (({ SUPABASE_SERVICE_KEY, ...rest }) => ({ ...rest, SUPABASE_SERVICE_ROLE_KEY: 'x' }))(GOOD_ENV),
  }),
];

/** Every diagnosis the catalogue gives over rows × machines × registry answers, one per distinct summary shape. */
function catalogue(): { d: Diagnosis; i: DiagnosisInput }[] {
  const out = new Map<string, { d: Diagnosis; i: DiagnosisInput }>();
  for (const status of ROW_STATUSES)
    for (const m of MACHINES)
      for (const imageCheck of IMAGE_CHECKS)
        for (const flyId of ['3d8d9e1bc42d89', null]) {
          const i = input({ machine: m, imageCheck, row: { status, fly_machine_id: flyId } });
          const d = diagnose(i);
          out.set(`${d.code}|${d.summary.replace(/\d+/g, '#')}|${d.fix}`, { d, i });
        }
  return [...out.values()];
}

describe('every card and message reads as English with its variables in place', () => {
  const all = catalogue();

  it('the checker catches what the issue saw', () => {
    expect(problems(':large_green_circle: *You already have machine vyx-1 * is *running*')).toHaveLength(2);
    expect(problems('Fly machine x is destroyed, but the row still says destroyed.')).toHaveLength(1);
    expect(problems('The image undefined does not exist.')).toHaveLength(1);
    expect(problems('Machine `vyx-1` is now *running* (starting → running).')).toEqual([]);
  });

  it('the catalogue reaches every code but ORPHAN_MACHINE (its own function) from these samples', () => {
    const codes = new Set(all.map((x) => x.d.code));
    for (const code of [
      'IMAGE_TAG_MISSING',
      'IMAGE_REPOSITORY_MISSING',
      'IMAGE_UNVERIFIED',
      'ENV_MISMATCH',
      'MACHINE_ID_MISMATCH',
      'OOM_KILLED',
      'BOOT_CRASH',
      'MACHINE_GONE',
      'STUCK_TRANSITION',
      'HOST_UNREACHABLE',
      'RUNTIME_SILENT',
      'UNKNOWN',
    ]) {
      expect(codes, code).toContain(code);
    }
  });

  it('diagnosis cards, alerts and reminders of every code', () => {
    const orphan = orphanMachine({
      machine: machine({ metadata: { vyx_machine_id: 'vyx-0rphan00' } }),
      app: 'vyx-app',
      now: NOW,
    })!;
    for (const { d, i } of [...all, { d: orphan, i: input() }]) {
      expect(d.summary, d.code).toMatch(/^[A-Z].*[.)]$/s);
      expect(d.fix, d.code).toMatch(/^[A-Z/].*[.)]$/s);
      // A fix is a command or an exact outside step, never "mark this machine failed".
      expect(d.fix, d.code).toMatch(/\/vyx |fly |FLY_|VYX_|https?:\/\/|supabase |guest\.memory_mb/);
      expect(d.fix, d.code).not.toMatch(/mark (this|the) machine/i);
      const id = i.row.machine_id;
      for (const kind of ['diagnosis', 'reminder'] as const) {
        const event: ClaimedEvent = {
          id: 1,
          machine_id: id,
          kind,
          old_status: null,
          new_status: null,
          detail: { ...d, seen_count: 3, first_seen_at: iso(1200) },
          created_at: NOW.toISOString(),
          attempts: 1,
          slack_team_id: null,
          slack_channel: null,
          slack_thread_ts: null,
          user_id: null,
          status: i.row.status,
          fly_app: 'vyx-app',
          fly_machine_id: null,
        };
        const message = diagnosisMessage(event, 'https://example.test/docs/diagnoses/', true);
        expectReads(message, [d.code, id]);
        if (i.row.status === 'destroyed') expect(JSON.stringify(message.blocks)).not.toContain('vyx_destroy');
      }
    }
  });

  it('MACHINE_GONE on a destroyed row does not say "the row still says destroyed"', () => {
    const gone = all.filter((x) => x.d.code === 'MACHINE_GONE' && x.i.row.status === 'destroyed');
    expect(gone.length).toBeGreaterThan(0);
    for (const { d } of gone) expect(d.summary).not.toContain('still says');
  });

  const row = (status: string, extra: Partial<CloudMachine> = {}): CloudMachine => ({
    machine_id: 'vyx-63eea370',
    user_id: 'user-1',
    status,
    updated_at: iso(10),
    created_at: iso(600),
    status_changed_at: iso(10),
    status_detail: null,
    fly_app: 'vyx-app',
    fly_machine_id: '3d8d9e1bc42d89',
    region: 'ams',
    image: IMAGE,
    last_heartbeat_at: iso(5),
    slack_team_id: 'T1',
    slack_channel: 'C1',
    slack_thread_ts: '1.1',
    requested_by: 'U0ADMIN001',
    diagnosis: null,
    flagged_at: null,
    lease_owner: null,
    lease_until: null,
    ...extra,
  });

  it.each(ROW_STATUSES)('the %s status card, under each title the bot gives it', (status) => {
    const r = row(status, {
      status_detail: status === 'destroyed' ? 'destroyed by <@U0ADMIN001>' : null,
      diagnosis:
        status === 'failed'
          ? { code: 'BOOT_CRASH', summary: 'It crashed.', fix: 'Fix it.', certainty: 'certain' }
          : null,
    });
    expectReads(statusCard(r, NOW), ['vyx-63eea370', status]);
    expectReads(statusCard(r, NOW, { title: 'Machine vyx-63eea370 for <@U0ADMIN001>' }), ['vyx-63eea370']);
    const existing = statusCard(r, NOW, {
      title: 'Your machine vyx-63eea370',
      lead: 'You already have a machine (one per person); here it is.',
    });
    expectReads(existing, ['You already have a machine', 'Your machine vyx-63eea370']);
    expect(JSON.stringify(existing.blocks)).toContain(`*Your machine vyx-63eea370* is *${status}*`);
    if (status === 'destroyed') expect(JSON.stringify(existing.blocks)).not.toContain('vyx_destroy');
  });

  const ev = (id: number, old: string | null, next: string, detail?: string, at = id): ClaimedEvent => ({
    id,
    machine_id: 'vyx-63eea370',
    kind: 'status',
    old_status: old,
    new_status: next,
    detail: detail ? { detail } : {},
    created_at: new Date(NOW.getTime() + at * 1000).toISOString(),
    attempts: 1,
    slack_team_id: null,
    slack_channel: 'C1',
    slack_thread_ts: '1.1',
    user_id: 'user-1',
    status: next,
    fly_app: 'vyx-app',
    fly_machine_id: null,
  });

  it('status lines, the flapping story and runtime warnings', () => {
    expectReads(statusLine([ev(1, 'starting', 'running')]), [
      '`vyx-63eea370` is now *running* (starting → running)',
    ]);
    expectReads(statusLine([ev(1, 'running', 'failed', 'workload exited with code 3')]), [
      'is now *failed*',
      'code 3',
    ]);
    expectReads(
      statusLine([{ ...ev(1, 'starting', 'running'), detail: { resolved_code: 'RUNTIME_SILENT' } }]),
      ['Resolved: the earlier RUNTIME_SILENT no longer holds.'],
    );
    const killed = 'workload was killed by SIGKILL (signal 9)';
    const chain = [
      ev(1, 'running', 'failed', killed, 0),
      ev(2, 'failed', 'running', undefined, 7),
      ev(3, 'running', 'failed', killed, 14),
      ev(4, 'failed', 'running', undefined, 21),
      ev(5, 'running', 'failed', killed, 28),
      ev(6, 'failed', 'running', undefined, 35),
    ];
    const story = flapStory(chain)!;
    expectReads(story, [
      '`vyx-63eea370` restarted 3× in 35 s, last exit 137, SIGKILL — now :large_green_circle: *running*.',
    ]);
    expect(story.text).not.toMatch(/→.*→/);
    expect(flapStory([ev(1, 'starting', 'running')])).toBeUndefined();
    const warning: ClaimedEvent = {
      ...ev(1, null, 'running'),
      kind: 'warning',
      new_status: null,
      detail: { code: 'MACHINE_ID_MISMATCH', fly_machine_id: '3d8d9e1bc42d89' },
    };
    expectReads(warningMessage(warning), ['MACHINE_ID_MISMATCH', 'vyx-63eea370']);
  });

  it('/vyx start’s preflight refusals and warning', () => {
    for (const check of IMAGE_CHECKS) {
      for (const mode of ['warn', 'refuse'] as const) {
        const v = preflightImage(check, mode, NOW);
        if (v.kind === 'refuse') {
          expect(problems(v.diagnosis.summary)).toEqual([]);
          expect(problems(v.diagnosis.fix)).toEqual([]);
          expect(v.diagnosis.summary).toContain('did not create');
          const card = diagnosisCard(v.diagnosis, { runbookBaseUrl: 'https://example.test/d/' });
          expectReads(card, [`${v.diagnosis.code}: ${v.diagnosis.summary}`]);
          expect(JSON.stringify(card.blocks)).toContain('no machine was created');
          expect(JSON.stringify(card.blocks)).not.toContain('"actions"');
        }
        if (v.kind === 'warn') {
          expect(problems(v.warning)).toEqual([]);
          expect(v.warning).toContain(check.imageRef);
        }
      }
    }
  });

  it('the private answers of /vyx start and /vyx diagnose', () => {
    expectReads(startingCard('vyx-63eea370', undefined), [
      'Starting machine `vyx-63eea370`… I’ll post it in this channel and follow it in a thread.',
    ]);
    const v = preflightImage(unknown(401, 'UNAUTHORIZED'), 'warn', NOW);
    if (v.kind !== 'warn') throw new Error('expected a warning');
    const warned = startingCard('vyx-63eea370', v.warning);
    expectReads(warned, [
      'I could not check the image registry.fly.io/vyx-app:latest (the registry answered 401 UNAUTHORIZED)',
    ]);
    expect(JSON.stringify(warned.blocks)).toContain(':warning: I could not check the image');
    const gone = destroyedCard(
      row('destroyed', {
        status_changed_at: '2026-11-23T11:40:00.000Z',
        status_detail: 'destroyed by <@U0ADMIN001>',
      }),
      NOW,
    );
    expectReads(gone, [
      'Machine `vyx-63eea370` was destroyed on 2026-11-23 11:40 UTC (20 min ago) — destroyed by <@U0ADMIN001>. Nothing is left to diagnose',
    ]);
    expect(JSON.stringify(gone.blocks)).not.toContain('vyx_destroy');
    expectReads(destroyedCard(row('destroyed', { status_detail: null }), NOW), ['was destroyed on']);
  });
});
