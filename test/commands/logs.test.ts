import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotHarness, MEMBER, OTHER, startBotHarness } from '../helpers/bot-harness.ts';

/** `/vyx logs` and the Logs button: a machine's last lines, privately; clear answers otherwise. */
describe('/vyx logs', () => {
  let h: BotHarness;
  let id: string;
  let flyId: string;

  beforeAll(async () => {
    h = await startBotHarness();
    await h.command('start', MEMBER);
    const row = await h.until(async () => {
      const rows = await h.s.store.listMachines({ userId: 'vyx-member' });
      return rows[0]?.status === 'running' && rows[0].fly_machine_id ? rows[0] : undefined;
    }, 'the machine running');
    id = row.machine_id;
    flyId = row.fly_machine_id!;
    await h.until(() => h.emulator.machineLogs(flyId).length >= 2, 'the machine wrote lines');
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The asker's next private answer after running `act`. */
  async function answer(user: string, act: () => Promise<unknown>) {
    const before = h.ephemerals(user).length;
    await act();
    return h.until(() => h.ephemerals(user)[before], 'the private answer');
  }
  const lastLine = () =>
    h.emulator
      .machineLogs(flyId)
      .at(-1)!
      .replace(/^(stdout|stderr): /, '');

  it('on a running machine: its lines, only to the asker', async () => {
    const text = await answer(MEMBER, () => h.command(`logs ${id}`, MEMBER));
    expect(text).toContain(`Machine \`${id}\` (Fly \`${flyId}\`, started)`);
    expect(text).toContain(lastLine().slice(0, 60));
    expect(h.slack.messages().some((m) => m.text.includes(lastLine().slice(0, 60)))).toBe(false);
  });

  it('--lines N shows N lines; the owner’s own machine without naming it', async () => {
    const text = await answer(MEMBER, () => h.command('logs --lines 2', MEMBER));
    expect(text).toContain('the last 2 log lines');
    expect(text.split('\n').filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /.test(l))).toHaveLength(2);
  });

  it('the Logs button answers the same way', async () => {
    const text = await answer(MEMBER, () => h.press('vyx_logs', id, MEMBER));
    expect(text).toContain(lastLine().slice(0, 60));
  });

  it('a missing machine, someone else’s machine, a bad --lines: clear answers, no lines', async () => {
    expect(await answer(MEMBER, () => h.command('logs vyx-nosuch01', MEMBER))).toContain(
      'There is no machine `vyx-nosuch01`',
    );
    const denied = await answer(OTHER, () => h.command(`logs ${id}`, OTHER));
    expect(denied).not.toContain(lastLine().slice(0, 60));
    expect(denied).toMatch(/not yours|only|admin/i);
    for (const bad of ['0', '101', 'lots']) {
      const text = await answer(MEMBER, () => h.command(`logs ${id} --lines ${bad}`, MEMBER));
      expect(text).toContain('--lines');
      expect(text).toContain('/vyx logs [machine] [--lines 30]');
    }
  });

  it('a row whose Fly machine is gone: says there is none', async () => {
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app) values ('vyx-ghost001', 'vyx-member', 'starting', 'vyx-app')`,
    );
    expect(await answer(MEMBER, () => h.command('logs vyx-ghost001', MEMBER))).toContain(
      'has no Fly machine in `vyx-app`',
    );
  });
});
