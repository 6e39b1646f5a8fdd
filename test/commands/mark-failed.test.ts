import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotHarness, MEMBER, OTHER, startBotHarness } from '../helpers/bot-harness.ts';

// `/vyx fail <machine> [CODE]`, the step runbooks give for closing a stuck row, as users type it;
// and in the assembled bot, the owner's one direct message for that failure.
describe('/vyx fail', () => {
  let h: BotHarness;
  let id: string;
  beforeAll(async () => {
    h = await startBotHarness();
    await h.command('start', MEMBER);
    const row = await h.until(async () => {
      const [r] = await h.s.store.listMachines({ userId: 'vyx-member' });
      return r?.status === 'running' ? r : undefined;
    }, 'the member machine running');
    id = row.machine_id;
  });
  afterAll(async () => {
    await h?.close();
  });
  const answer = (user: string, index: number) =>
    h.until(() => h.ephemerals(user)[index], `answer ${index} to ${user}`);
  const status = async () => (await h.s.store.getMachine(id)).status;

  it('refuses others and bad codes, closes the row with who and why, and tells the owner once', async () => {
    const asked = h.ephemerals(MEMBER).length;
    await h.command(`fail ${id}`, OTHER);
    await answer(OTHER, 0);
    expect(await status()).toBe('running');

    await h.command(`fail ${id} because`, MEMBER);
    expect(await answer(MEMBER, asked)).toContain('diagnosis code');
    expect(await status()).toBe('running');

    await h.command(`fail ${id} STUCK_TRANSITION`, MEMBER);
    expect(await answer(MEMBER, asked + 1)).toContain('is marked failed (STUCK_TRANSITION)');
    const row = await h.s.store.getMachine(id);
    expect(row.status).toBe('failed');
    expect(row.status_detail).toBe(`STUCK_TRANSITION by <@${MEMBER}>`);

    await h.command(`fail ${id}`, MEMBER);
    expect(await answer(MEMBER, asked + 2)).toContain('already failed');

    // The owner's direct message, through the assembled bot's echo watcher: one.
    const dm = `D${MEMBER.slice(1)}`;
    await h.until(async () => (await h.s.store.pendingEventsOf([id])) === 0, 'the failure delivered');
    const dms = h.slack.workspace.messages(dm).filter((m) => m.text.includes(id));
    expect(dms).toHaveLength(1);
    expect(JSON.stringify(dms[0]!.blocks)).toContain(`Your machine \`${id}\` failed`);
  });
});
