import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type BotHarness, MEMBER, OTHER, startBotHarness } from '../helpers/bot-harness.ts';

// Issues 11.3, 11.4 and 13.5 over Bolt's real HTTPReceiver (behind the guard), signed as Slack signs.
describe('hostile, replayed and duplicated Slack requests', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const auditRows = async (where: string, params: unknown[] = []) =>
    (
      await h.s.twin.backend.query(
        `select action, name, outcome, args, detail from audit_log where ${where} order by id`,
        params,
      )
    ).rows as { action: string; name: string; outcome: string; args: string | null; detail: string | null }[];
  const DELETE = 'DELETE /v1/apps/:app/machines/:id';
  const CREATE = 'POST /v1/apps/:app/machines';

  it('bodies Slack never sends: 400, one log line each, audited, the process alive', async () => {
    const cases: [string, string, string][] = [
      ['application/json', 'null', 'null'],
      ['application/json', '[]', 'an array'],
      ['application/json', '"ssl_check"', 'a string'],
      ['application/json', '{}', 'no type'],
      ['application/json', '{not json', 'not JSON'],
      [
        'application/x-www-form-urlencoded',
        `${h.commandBody('status', MEMBER)}&text=destroy`,
        'given twice: text',
      ],
      [
        'application/x-www-form-urlencoded',
        `${h.pressBody('vyx_destroy', 'vyx-00000000', MEMBER)}&payload=%7B%7D`,
        'given twice: payload',
      ],
      ['application/x-www-form-urlencoded', 'payload=null', 'not a JSON object'],
      ['application/x-www-form-urlencoded', 'payload=%7Bnope', 'not JSON'],
      ['application/x-www-form-urlencoded', '__proto__=1&constructor=2', 'neither a command'],
      ['application/x-www-form-urlencoded', 'command=%2Fvyx&text=help', 'lacks'],
    ];
    const before = (await auditRows(`action = 'request'`)).length;
    for (const [contentType, body, problem] of cases) {
      const logsBefore = h.logs.length;
      const r = await h.raw(body, { contentType });
      expect(r.status, body).toBe(400);
      const lines = h.logs.slice(logsBefore).filter((l) => l.includes('malformed body'));
      expect(lines, body).toHaveLength(1);
      expect(lines[0]).toContain(problem);
    }
    await h.until(
      async () => (await auditRows(`action = 'request'`)).length === before + cases.length,
      'every refusal audited',
    );
    // Unsigned junk is refused (401) and not audited: nobody can fill the audit log from outside.
    const unsigned = await h.raw('null', { contentType: 'application/json', signature: 'v0=00' });
    expect(unsigned.status).toBe(401);
    // Alive and answering.
    const n = h.ephemerals(MEMBER).length;
    expect((await h.command('help', MEMBER)).status).toBe(200);
    await h.until(() => h.ephemerals(MEMBER).length > n, 'help after the bad bodies');
    expect((await auditRows(`action = 'request'`)).length).toBe(before + cases.length);
  });

  it('prototype names and control characters are answered and audited', async () => {
    const texts = [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'status\u0000',
      'a\u0001\u001b[31mb\u007f',
    ];
    for (const text of texts) {
      const n = h.ephemerals(MEMBER).length;
      expect((await h.command(text, MEMBER)).status).toBe(200);
      const answer = await h.until(() => h.ephemerals(MEMBER)[n], `an answer to ${JSON.stringify(text)}`);
      expect(answer).toMatch(/I don't know|Usage|machine/);
    }
    // The audit row is written after the answer: wait for the last text's row, not for a count
    // (the earlier test's rows of this user count too).
    const rows = await h.until(async () => {
      const r = await auditRows(`slack_user_id = $1 and action = 'command'`, [MEMBER]);
      return r.some((row) => row.args === 'a\\u0001\\u001b[31mb\\u007f') ? r : undefined;
    }, 'the audit rows');
    const args = rows.map((r) => r.args);
    expect(args).toEqual(
      expect.arrayContaining(['constructor', '__proto__', 'status\\u0000', 'a\\u0001\\u001b[31mb\\u007f']),
    );
    expect(h.logs.some((l) => l.includes('audit write failed'))).toBe(false);
  });

  it('did you mean, and unknown options named as unknown', async () => {
    let n = h.ephemerals(MEMBER).length;
    await h.command('stauts', MEMBER);
    expect(await h.until(() => h.ephemerals(MEMBER)[n], 'the typo answer')).toContain(
      'Did you mean `/vyx status`?',
    );
    n = h.ephemerals(MEMBER).length;
    await h.command('start --foo', MEMBER);
    const answer = await h.until(() => h.ephemerals(MEMBER)[n], 'the option answer');
    expect(answer).toContain('`--foo` is not an option');
    expect(answer).not.toContain('needs a value');
  });

  it('--image ../../etc, an empty tag, a bad digest and --region xyz: a private error, no row, no Fly request', async () => {
    await h.bot.deps.regions.warm(); // as at start-up: the check itself then costs no request
    const fly = h.emulator.counters.total();
    const cases: [string, string][] = [
      ['start --image ../../etc', 'IMAGE_REF_INVALID'],
      ['start --image registry.fly.io/vyx-app:', 'IMAGE_REF_INVALID'],
      ['start --image vyx-app@sha256:123', 'IMAGE_REF_INVALID'],
      ['start --image docker.io/library/ubuntu:24.04', 'IMAGE_REGISTRY_NOT_ALLOWED'],
      ['start --region xyz', 'REGION_UNKNOWN'],
    ];
    for (const [text, code] of cases) {
      const n = h.ephemerals(MEMBER).length;
      await h.command(text, MEMBER);
      const answer = await h.until(() => h.ephemerals(MEMBER)[n], text);
      expect(answer, text).toContain(code);
    }
    expect(h.ephemerals(MEMBER).at(-1)).toContain('ams');
    expect(await h.s.store.listMachines({ userId: 'vyx-member' })).toEqual([]);
    expect(h.emulator.counters.total()).toBe(fly);
    const rows = await h.until(async () => {
      const r = await auditRows(`slack_user_id = $1 and name = 'start' and outcome = 'invalid'`, [MEMBER]);
      return r.length >= cases.length ? r : undefined;
    }, 'each refusal audited');
    expect(rows.map((r) => r.detail)).toEqual(cases.map(([, code]) => code));
  });

  it('a captured signed /vyx start replayed after a destroy is refused: no row, no machine', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = h.commandBody('start', OTHER);
    expect((await h.raw(body, { timestamp: ts })).status).toBe(200);
    const [row] = await h.until(async () => {
      const rows = await h.s.store.listMachines({ userId: 'vyx-other' });
      return rows[0]?.status === 'running' ? rows : undefined;
    }, 'the machine running');
    await h.press('vyx_destroy', row!.machine_id, OTHER);
    await h.until(
      async () => (await h.s.store.getMachine(row!.machine_id)).status === 'destroyed',
      'destroyed',
    );
    const creates = h.emulator.counters.get(CREATE);

    const replay = await h.raw(body, { timestamp: ts });
    expect(replay.status).toBe(200);
    await h.until(
      async () => (await auditRows(`slack_user_id = $1 and outcome = 'duplicate'`, [OTHER])).length === 1,
      'the replay audited as a duplicate',
    );
    expect(await h.s.store.listMachines({ userId: 'vyx-other' })).toHaveLength(1);
    expect(h.emulator.counters.get(CREATE)).toBe(creates);
    expect(h.logs.some((l) => l.includes('duplicate Slack delivery'))).toBe(true);
  });

  it('a Slack retry (X-Slack-Retry-Num, new signature, same trigger id) acts once', async () => {
    const body = h.commandBody('start', OTHER);
    const ts = Math.floor(Date.now() / 1000);
    const [first, retry] = await Promise.all([
      h.raw(body, { timestamp: ts }),
      h.raw(body, {
        timestamp: ts - 1,
        headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
      }),
    ]);
    expect([first.status, retry.status]).toEqual([200, 200]);
    await h.until(async () => {
      const rows = await h.s.store.listMachines({ userId: 'vyx-other' });
      return rows.some((r) => r.status === 'running');
    }, 'the one new machine running');
    const dup = await h.until(async () => {
      const r = await auditRows(`slack_user_id = $1 and outcome = 'duplicate'`, [OTHER]);
      return r.length === 2 ? r : undefined;
    }, 'the retry audited as a duplicate');
    expect(dup[1]?.name).toBe('start');
    expect(await h.s.store.listMachines({ userId: 'vyx-other' })).toHaveLength(2); // one destroyed, one new
  });

  it('two identical signed button presses at once: one Fly call, one reply', async () => {
    const [row] = (await h.s.store.listMachines({ userId: 'vyx-other' })).filter(
      (r) => r.status === 'running',
    );
    const id = row!.machine_id;
    const deletes = h.emulator.counters.get(DELETE);
    const replies = h.ephemerals(OTHER).length;
    const auditedBefore = (await auditRows(`slack_user_id = $1 and name = 'vyx_destroy'`, [OTHER])).length;
    const body = h.pressBody('vyx_destroy', id, OTHER);
    const ts = Math.floor(Date.now() / 1000);
    const answers = await Promise.all([h.raw(body, { timestamp: ts }), h.raw(body, { timestamp: ts })]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const audited = await h.until(async () => {
      const r = await auditRows(`slack_user_id = $1 and name = 'vyx_destroy'`, [OTHER]);
      return r.length === auditedBefore + 2 ? r.slice(auditedBefore) : undefined;
    }, 'both presses audited');
    expect(audited.map((r) => r.outcome).sort()).toEqual(['duplicate', 'ok']);
    expect((await h.s.store.getMachine(id)).status).toBe('destroyed');
    expect(h.emulator.counters.get(DELETE)).toBe(deletes + 1);
    expect(h.ephemerals(OTHER)).toHaveLength(replies + 1);
  });

  it('the admin’s commands still work after all of it', async () => {
    const n = h.ephemerals(ADMIN).length;
    await h.command('list', ADMIN);
    await h.until(() => h.ephemerals(ADMIN).length > n, 'the list');
  });
});
