import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotHarness, MEMBER, STRANGER, startBotHarness } from '../helpers/bot-harness.ts';

// `/vyx notify on|off` as a user types it: the setting the owner DM reads, a clear answer for bad input.
describe('/vyx notify', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  const setting = async () =>
    (
      (
        await h.s.twin.backend.query('select failure_dm from slack_identities where slack_user_id = $1', [
          MEMBER,
        ])
      ).rows[0] as { failure_dm: boolean } | undefined
    )?.failure_dm;
  const answer = (user: string, from: number) =>
    h.until(() => h.ephemerals(user)[from], `an answer to ${user}`);

  it('turns the failure DM off and on; bad words and strangers change nothing', async () => {
    expect(await setting()).toBe(true);
    await h.command('notify off', MEMBER);
    expect(await answer(MEMBER, 0)).toContain('No more direct messages');
    expect(await setting()).toBe(false);

    await h.command('notify sometimes', MEMBER);
    expect(await answer(MEMBER, 1)).toContain('/vyx notify on|off');
    expect(await setting()).toBe(false);

    await h.command('notify on', MEMBER);
    expect(await answer(MEMBER, 2)).toContain('direct message');
    expect(await setting()).toBe(true);

    await h.command('notify off', STRANGER);
    expect(await answer(STRANGER, 0)).not.toContain('No more direct messages');
    expect(await setting()).toBe(true);
  });
});
