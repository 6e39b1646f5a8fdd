import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkView } from '../../src/local/slack-twin/view-check.ts';
import { ADMIN, type BotHarness, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';
import { expectValidSlackTranscript } from '../helpers/slack-spec.ts';

// App Home (#18.1): a person opens the Home tab and sees their machines; an admin also sees the
// fleet; a status change re-renders both, through the outbox and the echo watcher.
describe('App Home', () => {
  let h: BotHarness;
  let id: string;
  beforeAll(async () => {
    h = await startBotHarness({ homeDebounceMs: 100 });
    await h.command('start --region ams', MEMBER);
    const row = await h.until(async () => {
      const [r] = await h.s.store.listMachines({ userId: 'vyx-member' });
      return r?.status === 'running' ? r : undefined;
    }, 'the member machine running');
    id = row.machine_id;
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Slack delivers app_home_opened over HTTP as a signed JSON event_callback. */
  const openHome = (user: string) =>
    h.raw(JSON.stringify(h.slack.homeOpenedBody(user)), { contentType: 'application/json' });
  const homeText = (user: string) => JSON.stringify(h.slack.views.home(user)?.blocks ?? []);
  const actionIds = (user: string) =>
    (h.slack.views.home(user)?.blocks ?? [])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => (b.elements as { action_id: string }[]).map((e) => e.action_id));

  it('shows a member their machines with status, region, image and the card buttons', async () => {
    expect((await openHome(MEMBER)).status).toBe(200);
    await h.until(() => h.slack.views.home(MEMBER), 'the member Home published');
    const text = homeText(MEMBER);
    expect(text).toContain(id);
    expect(text).toContain('*running*');
    expect(text).toContain('region ams');
    expect(text).toContain('registry.fly.io/vyx-app:latest');
    expect(text).not.toContain('The fleet at a glance');
    expect(actionIds(MEMBER)).toEqual(
      expect.arrayContaining(['vyx_destroy', 'vyx_diagnose', 'vyx_logs', 'vyx_restart', 'vyx_stop']),
    );
  });

  it('shows an admin the fleet at a glance, and both re-render when the machine fails', async () => {
    await openHome(ADMIN);
    await h.until(() => h.slack.views.home(ADMIN), 'the admin Home published');
    expect(homeText(ADMIN)).toContain('The fleet at a glance');
    expect(homeText(ADMIN)).toContain('Failed: *0*');

    await h.command(`fail ${id} STUCK_TRANSITION`, MEMBER);
    await h.until(() => homeText(MEMBER).includes('*failed*'), 'the member Home re-rendered');
    await h.until(() => homeText(ADMIN).includes('Failed: *1*'), 'the admin Home re-rendered');
    const admin = homeText(ADMIN);
    expect(admin).toContain(`Failed: 1* (oldest first)`);
    expect(admin).toContain(id);
    expect(admin).toContain('vyx-member');
    // A failed machine offers Retry instead of Stop.
    expect(actionIds(MEMBER)).toContain('vyx_retry');
    expect(actionIds(MEMBER)).not.toContain('vyx_stop');
  });

  it('answers a Home button (no response_url) in the person’s direct message', async () => {
    const dm = `D${MEMBER.slice(1)}`;
    // The failure's own direct message to the owner comes first.
    await h.until(async () => (await h.s.store.pendingEventsOf([id])) === 0, 'the failure delivered');
    const before = h.slack.workspace.messages(dm).length;
    const payload = JSON.parse(new URLSearchParams(h.pressBody('vyx_diagnose', id, MEMBER)).get('payload')!);
    const fromHome = {
      ...payload,
      container: { type: 'view', view_id: h.slack.views.home(MEMBER)!.id },
      channel: undefined,
      response_url: undefined,
    };
    const r = await h.raw(new URLSearchParams({ payload: JSON.stringify(fromHome) }).toString());
    expect(r.status).toBe(200);
    const answer = await h.until(
      () => h.slack.workspace.messages(dm).slice(before)[0],
      'the Diagnose answer in the DM',
    );
    expect(answer.text).toContain(`on ${id}`);
    expect(answer.text).toContain('Fix:');
  });

  it('publishes only views that pass the spec and Block Kit limits', () => {
    const publishes = h.slack.transcript().filter((e) => e.method === 'views.publish');
    expect(publishes.length).toBeGreaterThanOrEqual(4);
    for (const p of publishes) {
      expect((p.response as { ok: boolean }).ok).toBe(true);
      expect(checkView(p.args.view, 'home', () => 'x').ok).toBe(true);
    }
    expectValidSlackTranscript(h.slack.transcript());
  });
});
