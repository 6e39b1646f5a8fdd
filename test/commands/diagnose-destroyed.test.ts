import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type BotHarness, startBotHarness } from '../helpers/bot-harness.ts';

// `/vyx diagnose` on a machine the bot destroyed: the words match the state.
describe('/vyx diagnose on a destroyed machine', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('says it is destroyed and when, offers no Destroy button, and runs no catalogue', async () => {
    await h.command('start');
    const [row] = await h.until(async () => {
      const rows = await h.s.store.listMachines({ userId: 'vyx-admin' });
      return rows[0]?.status === 'running' ? rows : undefined;
    }, 'the machine running');
    const id = row!.machine_id;
    await h.press('vyx_destroy', id, ADMIN);
    await h.until(async () => (await h.s.store.getMachine(id)).status === 'destroyed', 'the row destroyed');
    const destroyedAt = (await h.s.store.getMachine(id)).status_changed_at!;

    const before = h.slack.workspace.ephemerals().length;
    await h.command(`diagnose ${id}`);
    const answer = await h.until(
      () =>
        h.slack.workspace
          .ephemerals()
          .slice(before)
          .find((e) => e.user === ADMIN),
      'the diagnose answer',
    );
    const day = destroyedAt.slice(0, 10);
    expect(answer.text).toContain(`Machine \`${id}\` was destroyed on ${day}`);
    expect(answer.text).toContain(`destroyed by <@${ADMIN}>`);
    expect(answer.text).not.toMatch(/MACHINE_GONE|row still says/);
    expect(JSON.stringify(answer.blocks ?? [])).not.toContain('vyx_destroy');
  });
});
