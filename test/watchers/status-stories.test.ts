import { describe, expect, it } from 'vitest';
import type { Card } from '../../src/slack/cards/status-card.ts';
import type { ClaimedEvent } from '../../src/store/store-schemas.ts';
import { StatusStories } from '../../src/watchers/status-stories.ts';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
let seq = 0;
const status = (old: string | null, next: string, atS: number, detail?: string): ClaimedEvent => ({
  id: ++seq,
  machine_id: 'vyx-63eea370',
  kind: 'status',
  old_status: old,
  new_status: next,
  detail: detail ? { detail } : {},
  created_at: new Date(T0 + atS * 1000).toISOString(),
  attempts: 1,
  slack_team_id: null,
  slack_channel: null,
  slack_thread_ts: null,
  user_id: 'u',
  status: next,
  fly_app: 'vyx-app',
  fly_machine_id: null,
});
const diagnosis = (atS: number): ClaimedEvent => ({
  ...status(null, 'running', atS),
  kind: 'diagnosis',
  new_status: null,
  detail: { code: 'OOM_KILLED' },
});
const KILLED = 'workload was killed by SIGKILL (signal 9)';
const place = { channel: 'C1', threadTs: undefined };
const rendered: Card = { text: 'OOM_KILLED card', blocks: [] };

/** Delivers like the echo does: plan, "post" (ts = a counter) or "update", commit. */
function deliver(stories: StatusStories, events: ClaimedEvent[], atS: number, log: string[]) {
  const plan = stories.plan(events, place, () => rendered, T0 + atS * 1000);
  const ts = plan.updateTs ?? `ts${log.length + 1}`;
  if (plan.updateTs) log[Number(plan.updateTs.slice(2)) - 1] = plan.card.text;
  else log.push(plan.card.text);
  plan.commit(ts, T0 + atS * 1000);
}

describe('StatusStories: a machine’s status changes as one story', () => {
  it('running, then a flap of 5 restarts and a diagnosis: two messages, the second updated in place', () => {
    const stories = new StatusStories();
    const log: string[] = [];
    deliver(stories, [status('starting', 'running', 0)], 0, log);
    for (let i = 0; i < 5; i++) {
      deliver(stories, [status('running', 'failed', 7 * i + 1, KILLED)], 7 * i + 1, log);
      deliver(stories, [status('failed', 'running', 7 * i + 4)], 7 * i + 4, log);
      if (i === 2) deliver(stories, [diagnosis(7 * i + 5)], 7 * i + 5, log);
    }
    expect(log).toHaveLength(2);
    expect(log[0]).toContain('is now *running*');
    expect(log[1]).toContain(
      '`vyx-63eea370` restarted 5× in 31 s, last exit 137, SIGKILL — now :large_green_circle: *running*',
    );
    expect(log[1]).toContain('OOM_KILLED card');
  });

  it('a stop someone asked for (Restart, flyctl) and the start after it are no flap', () => {
    const stories = new StatusStories();
    const log: string[] = [];
    deliver(stories, [status('starting', 'running', 0)], 0, log);
    deliver(stories, [status('running', 'stopped', 5, 'stopped by SIGTERM')], 5, log);
    deliver(stories, [status('stopped', 'starting', 6), status('starting', 'running', 7)], 7, log);
    expect(log.join('\n')).not.toContain('restarted');
    expect(log.at(-1)).toContain('*running*');
  });

  it('a single failure is its own message (nothing restarted), and so is a change after the window', () => {
    const stories = new StatusStories(120_000);
    const log: string[] = [];
    deliver(stories, [status('starting', 'running', 0)], 0, log);
    deliver(stories, [status('running', 'failed', 5, 'workload exited with code 3')], 5, log);
    expect(log).toHaveLength(2);
    expect(log[1]).toContain('is now *failed*');
    // Ten minutes later the row comes back: a new message, not an edit of an old one.
    deliver(stories, [status('failed', 'running', 600)], 600, log);
    expect(log).toHaveLength(3);
    expect(log[2]).toContain('is now *running*');
  });

  it('a diagnosis of a machine that is not flapping is its own message', () => {
    const stories = new StatusStories();
    const log: string[] = [];
    deliver(stories, [status('starting', 'running', 0)], 0, log);
    deliver(stories, [diagnosis(3)], 3, log);
    expect(log).toEqual([expect.stringContaining('is now *running*'), 'OOM_KILLED card']);
  });

  it('a batch that already holds a restart starts the story at once (never "running → failed → running")', () => {
    const stories = new StatusStories();
    const log: string[] = [];
    deliver(
      stories,
      [
        status('starting', 'running', 0),
        status('running', 'failed', 2, KILLED),
        status('failed', 'running', 4),
      ],
      4,
      log,
    );
    expect(log).toHaveLength(1);
    expect(log[0]).toContain('restarted 1× in 4 s, last exit 137, SIGKILL');
    expect(log[0]).not.toContain('→');
  });

  it('when the story could not be updated and was posted anew, the new message is the story', () => {
    const stories = new StatusStories();
    stories.plan([status('running', 'failed', 0, KILLED)], place, () => rendered, T0).commit('ts1', T0);
    const second = stories.plan([status('failed', 'running', 2)], place, () => rendered, T0 + 2000);
    expect(second.updateTs).toBe('ts1');
    second.commit('ts7', T0 + 2000); // Slack refused the edit; the echo posted it as ts7
    const third = stories.plan([status('running', 'failed', 4, KILLED)], place, () => rendered, T0 + 4000);
    expect(third.updateTs).toBe('ts7');
    expect(third.card.text).toContain('restarted 1× in 4 s');
  });
});
