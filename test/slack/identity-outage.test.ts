import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotHarness, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';

// Deny by default must not turn a failure into a lie: when the identity lookup itself fails, the
// asker is told what failed, not that they are "not linked".
describe('when the identity lookup fails', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the asker gets the coded failure, help still answers, and nothing is created', async () => {
    await h.s.twin.backend.query('revoke execute on function vyx_get_identity(text, text) from service_role');
    try {
      expect((await h.command('start', MEMBER)).status).toBe(200);
      const answer = await h.until(() => h.ephemerals(MEMBER).at(-1), 'an answer');
      expect(answer).toContain('STORE_UNAUTHORIZED');
      expect(answer).not.toContain('not linked');
      await h.command('help', MEMBER);
      await h.until(() => h.ephemerals(MEMBER).some((t) => t.includes('/vyx start')), 'help');
      expect(await h.s.store.listMachines({ limit: 10 })).toEqual([]);
    } finally {
      await h.s.twin.backend.query('grant execute on function vyx_get_identity(text, text) to service_role');
    }
  });
});
