/**
 * `/vyx help` and a command that does not parse are answered in the ack itself: the person sees
 * the answer with the ack (no second request through response_url), it is audited, and nothing
 * else happens. Over HTTP (the 200's body) and Socket Mode (the envelope ack's payload) alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotHarness, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';

describe('answers that need no work go back in the ack', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const auditRows = async (name: string) =>
    (
      await h.s.twin.backend.query(
        `select name, outcome, detail from audit_log where slack_user_id = $1 and name = $2 order by id`,
        [MEMBER, name],
      )
    ).rows as { name: string; outcome: string; detail: string | null }[];
  const fromAck = () => h.slack.workspace.ephemerals().filter((e) => e.user === MEMBER && e.via === 'ack');
  const viaResponseUrl = () =>
    h.slack.workspace.ephemerals().filter((e) => e.user === MEMBER && e.via === 'response_url');

  it('help: the ack carries the help privately; audited; no response_url post', async () => {
    const before = {
      ack: fromAck().length,
      url: viaResponseUrl().length,
      audited: (await auditRows('help')).length,
    };
    const res = await h.command('help', MEMBER);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { response_type: string; text: string; blocks: unknown[] };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('/vyx start');
    expect(body.blocks.length).toBeGreaterThan(0);
    expect(fromAck()).toHaveLength(before.ack + 1);
    expect(fromAck().at(-1)!.text).toContain('/vyx start');
    await h.until(async () => (await auditRows('help')).length === before.audited + 1, 'help audited');
    expect((await auditRows('help')).at(-1)).toMatchObject({ outcome: 'ok' });
    expect(viaResponseUrl()).toHaveLength(before.url);
  });

  it('a command that does not parse: the problem and the usage in the ack; audited invalid; nothing created', async () => {
    const before = (await auditRows('invalid')).length;
    const res = await h.command('destroy --force', MEMBER);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(/Usage/);
    await h.until(async () => (await auditRows('invalid')).length === before + 1, 'invalid audited');
    expect((await auditRows('invalid')).at(-1)!.detail).toBeTruthy();
    expect(await h.s.store.listMachines({ limit: 10 })).toEqual([]);
  });

  it('a command with work to do acks empty and answers through response_url', async () => {
    const before = viaResponseUrl().length;
    const res = await h.command('list', MEMBER);
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    await h.until(() => viaResponseUrl().length > before, 'the list answer');
  });
});
