import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/commands/parse-command.ts';
import { sign } from '../../testkit/slack-signature.ts';
import {
  ADMIN,
  type BotHarness,
  CHANNEL,
  MEMBER,
  OTHER,
  STRANGER,
  startBotHarness,
} from '../helpers/bot-harness.ts';
import { expectValidSlackTranscript } from '../helpers/slack-spec.ts';

// The bot as Slack reaches it over HTTP: Bolt's real HTTPReceiver, signed requests, the Slack twin
// as the Web API, the Fly emulator running runtime/ as machines, the Supabase twin as the database.
describe('the Slack bot over HTTP', () => {
  let h: BotHarness;
  const ackMs: number[] = [];

  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    if (ackMs.length) {
      const sorted = [...ackMs].sort((a, b) => a - b);
      console.info(
        `ack time over ${sorted.length} commands: p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`,
      );
    }
    await h?.close();
  });

  const send = async (text: string, user = ADMIN) => {
    const r = await h.command(text, user);
    expect(r.status).toBe(200);
    ackMs.push(r.ms);
    return r;
  };
  const machinesOf = async (userId: string) => h.s.store.listMachines({ userId });

  it('start: a parent message, thread replies as the machine moves, up to running; the card updated', async () => {
    await send('start');
    const [machine] = await h.until(async () => {
      const m = await machinesOf('vyx-admin');
      return m.length > 0 && m[0]!.slack_thread_ts ? m : undefined;
    }, 'the row and its thread');
    const id = machine!.machine_id;
    const parentTs = machine!.slack_thread_ts!;

    const thread = await h.until(() => {
      const t = h.slack.thread(CHANNEL, parentTs);
      return t.some((m) => /is now \*running\*/.test(m.text)) ? t : undefined;
    }, 'running in the thread');
    const texts = thread.map((m) => m.text);
    expect(texts[0]).toContain(`Machine ${id}`);
    expect(texts.some((t) => t.includes('created in ams'))).toBe(true);
    expect(texts.some((t) => t.includes('Fly says the machine started'))).toBe(true);
    expect(texts.filter((t) => /is now \*running\*/.test(t))).toHaveLength(1);

    // The parent card was updated to running.
    await h.until(
      () => h.slack.workspace.message(CHANNEL, parentTs)?.text.includes('running'),
      'the parent card updated',
    );
    const row = await h.s.store.getMachine(id);
    expect(row.status).toBe('running');
    expect(row.fly_machine_id).toBeTruthy();
    expect(h.emulator.machines('vyx-app').find((m) => m.id === row.fly_machine_id)?.state).toBe('started');
    expect(h.ephemerals(ADMIN)).toContainEqual(
      `Starting machine \`${id}\`… I’ll post it in this channel and follow it in a thread.`,
    );
  });

  it('a second start answers with the active machine and creates nothing', async () => {
    const before = h.emulator.machines('vyx-app').length;
    await send('start');
    await h.until(
      () => h.ephemerals(ADMIN).at(-1)?.includes('You already have a machine (one per person)'),
      'the existing card',
    );
    expect(await machinesOf('vyx-admin')).toHaveLength(1);
    expect(h.emulator.machines('vyx-app')).toHaveLength(before);
  });

  it('status answers privately with the card', async () => {
    const n = h.ephemerals(ADMIN).length;
    await send('status');
    const last = await h.until(() => h.ephemerals(ADMIN)[n], 'the status card');
    expect(last).toMatch(/Machine vyx-[0-9a-f]{8}: running in ams/);
  });

  it('destroy asks first; the confirmed button destroys the Fly machine and the row', async () => {
    const [machine] = await machinesOf('vyx-admin');
    const id = machine!.machine_id;
    const n = h.ephemerals(ADMIN).length;
    await send('destroy');
    await h.until(() => h.ephemerals(ADMIN).length > n, 'the confirmation');
    expect(h.ephemerals(ADMIN).at(-1)).toContain(`Destroy machine \`${id}\``);
    expect((await h.s.store.getMachine(id)).status).toBe('running'); // nothing happens before the press

    const press = await h.press('vyx_destroy', id, ADMIN);
    expect(press.status).toBe(200);
    await h.until(async () => (await h.s.store.getMachine(id)).status === 'destroyed', 'the row destroyed');
    const fly = h.emulator.machines('vyx-app').find((m) => m.id === machine!.fly_machine_id);
    expect(fly?.state).toBe('destroyed');
    await h.until(
      () =>
        h.slack.thread(CHANNEL, machine!.slack_thread_ts!).some((m) => m.text.includes('is now *destroyed*')),
      'destroyed in the thread',
    );
  });

  it('refuses a bad signature (401) and an old timestamp, and nothing happens', async () => {
    const answered = h.ephemerals(MEMBER).length;
    const audited = async () =>
      (
        await h.s.twin.backend.query(`select count(*)::int as n from audit_log where slack_user_id = $1`, [
          MEMBER,
        ])
      ).rows[0]?.n as number;
    const auditedBefore = await audited();
    const bad = await h.command('start', MEMBER, { signature: 'v0=deadbeef' });
    expect(bad.status).toBe(401);
    const old = Math.floor(Date.now() / 1000) - 6 * 60;
    const body = `command=%2Fvyx&text=start&user_id=${MEMBER}&team_id=T0TEST0001&channel_id=${CHANNEL}`;
    const stale = await fetch(h.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(old),
        'x-slack-signature': sign(h.signingSecret, old, body),
      },
      body,
    });
    expect(stale.status).toBe(401);
    // A valid command afterwards is answered and audited: the refused ones were neither.
    await send('help', MEMBER);
    await h.until(() => h.ephemerals(MEMBER).length > answered, 'the help answer');
    await h.until(async () => (await audited()) === auditedBefore + 1, 'the help audited');
    expect(h.ephemerals(MEMBER)).toHaveLength(answered + 1);
    expect(await machinesOf('vyx-member')).toEqual([]);
  });

  it('an unlinked user cannot start; a member cannot destroy someone else’s machine', async () => {
    await send('start', STRANGER);
    await h.until(() => h.ephemerals(STRANGER).some((t) => t.includes('not linked')), 'the refusal');
    expect(await h.s.store.listMachines({ limit: 100 })).toHaveLength(1); // only the admin's, destroyed

    await send('start', OTHER);
    const [theirs] = await h.until(async () => {
      const m = await machinesOf('vyx-other');
      return m[0]?.status === 'running' ? m : undefined;
    }, 'the other member’s machine running');
    await send(`destroy ${theirs!.machine_id}`, MEMBER);
    await h.until(
      () => h.ephemerals(MEMBER).some((t) => t.includes('belongs to someone else')),
      'the refusal',
    );
    await h.press('vyx_destroy', theirs!.machine_id, MEMBER);
    await h.until(
      () => h.ephemerals(MEMBER).filter((t) => t.includes('belongs to someone else')).length >= 2,
      'the button refused',
    );
    expect((await h.s.store.getMachine(theirs!.machine_id)).status).toBe('running');

    // The audit rows are written in batches after the answer: waited for, not read at once.
    const audit = await h.until(async () => {
      const { rows } = await h.s.twin.backend.query(
        `select name, outcome from audit_log where slack_user_id = $1 order by id`,
        [MEMBER],
      );
      const seen = rows.map((r) => `${r.name}:${r.outcome}`);
      return seen.includes('vyx_destroy:denied') ? seen : undefined;
    }, 'the button’s refusal audited');
    expect(audit).toEqual(expect.arrayContaining(['destroy:denied', 'vyx_destroy:denied']));
  });

  it('1,000 random command texts each get a private answer and an audit row; nothing escapes; nothing is created', async () => {
    const rows = (await h.s.store.listMachines({ limit: 1000 })).length;
    const flyMachines = h.emulator.machines('vyx-app').length;
    const words = [
      'start',
      'status',
      'destroy',
      'list',
      'diagnose',
      'link',
      'help',
      '--region',
      '--image',
      '--x',
      'ams',
      '<@U1>',
      '😀',
      "'; drop table cloud_machines; --",
      '\u0000',
      '%00',
      '$(rm -rf /)',
      'vyx-00000000',
      '--region=',
      '-',
      '``',
      '*bold*',
      '<!channel>',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'prototype',
      '\u0001',
      '\u001b[2J',
      '\u007f',
      '\ud800',
      '\u200b',
      '--foo',
      'stauts',
    ];
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const texts: string[] = [];
    while (texts.length < 1000) {
      const n = Math.floor(rnd() * 6);
      const parts = Array.from({ length: n }, () =>
        rnd() < 0.6
          ? words[Math.floor(rnd() * words.length)]!
          : String.fromCharCode(
              ...Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => 32 + Math.floor(rnd() * 0x2fff)),
            ),
      );
      if (rnd() < 0.02) parts.push('x'.repeat(3000));
      const text = parts.join(' ');
      // A well-formed start or destroy would act, which is right: keep only texts that must not.
      const parsed = parseCommand(text);
      if (parsed.ok && ['start', 'destroy', 'link'].includes(parsed.command.name)) continue;
      texts.push(text);
    }
    const audited = async () =>
      (
        await h.s.twin.backend.query(
          `select count(*)::int as n from audit_log where slack_user_id = $1 and action = 'command'`,
          [MEMBER],
        )
      ).rows[0]?.n as number;
    const auditedBefore = await audited();
    const before = h.ephemerals(MEMBER).length;
    for (let i = 0; i < texts.length; i += 20) {
      const batch = await Promise.all(texts.slice(i, i + 20).map((t) => h.command(t, MEMBER)));
      for (const r of batch) expect(r.status).toBe(200);
    }
    await h.until(() => h.ephemerals(MEMBER).length >= before + 1000, 'an answer to each', 60_000);
    expect(h.ephemerals(MEMBER).length).toBe(before + 1000);
    await h.until(async () => (await audited()) >= auditedBefore + 1000, 'an audit row for each', 60_000);
    expect(await audited()).toBe(auditedBefore + 1000);
    expect(
      h
        .ephemerals(MEMBER)
        .slice(before)
        .some((t) => /at \w+ \(|Error:|stack/i.test(t)),
    ).toBe(false);
    expect((await h.s.store.listMachines({ limit: 1000 })).length).toBe(rows);
    expect(h.emulator.machines('vyx-app').length).toBe(flyMachines);
    expect(h.logs.some((l) => /"level":50.*\/vyx/.test(l) && !/STORE_|FLY_/.test(l))).toBe(false);
  }, 180_000); // 1,000 signed round trips with their audit writes: bounded, not timed

  it('200 malformed signed bodies (duplicated fields, JSON values) each get one 400 and an audit row; the bot lives', async () => {
    const jsonValues = [
      'null',
      'true',
      '1',
      '"x"',
      '[]',
      '[null]',
      '{}',
      '{"a":1}',
      '{"type":1}',
      '{"__proto__":{"type":"x"}}',
    ];
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const field = () =>
      ['text', 'user_id', 'team_id', 'command', 'channel_id', 'response_url'][Math.floor(rnd() * 6)]!;
    const cases = Array.from({ length: 200 }, (_, i) => {
      if (i % 2 === 0)
        return { contentType: 'application/json', body: jsonValues[Math.floor(rnd() * jsonValues.length)]! };
      const body = h.commandBody(['status', 'help', 'constructor', '\u0000'][i % 4]!, MEMBER);
      return {
        contentType: 'application/x-www-form-urlencoded',
        body: `${body}&${field()}=${encodeURIComponent(String.fromCharCode(Math.floor(rnd() * 0x2fff)))}`,
      };
    });
    const refusals = async () =>
      (await h.s.twin.backend.query(`select count(*)::int as n from audit_log where action = 'request'`))
        .rows[0]?.n as number;
    const before = await refusals();
    const answered = h.ephemerals(MEMBER).length;
    for (let i = 0; i < cases.length; i += 20) {
      const batch = await Promise.all(
        cases.slice(i, i + 20).map((c) => h.raw(c.body, { contentType: c.contentType })),
      );
      for (const r of batch) expect(r.status).toBe(400);
    }
    await h.until(async () => (await refusals()) >= before + 200, 'an audit row for each', 60_000);
    expect(await refusals()).toBe(before + 200);
    expect(h.ephemerals(MEMBER)).toHaveLength(answered); // refused before any handler: no reply
    await send('help', MEMBER);
    await h.until(() => h.ephemerals(MEMBER).length === answered + 1, 'alive: help answered');
  });

  it('every Slack call validates against the Web API spec, and no secret value reaches Slack or the logs', async () => {
    expectValidSlackTranscript(h.slack.transcript());
    const secrets = [h.s.twin.serviceKey, h.slack.botToken, h.emulator.token, h.signingSecret];
    const everything =
      JSON.stringify(h.slack.transcript()) +
      JSON.stringify(h.slack.workspace.ephemerals()) +
      h.logs.join('\n');
    for (const secret of secrets) expect(everything.includes(secret), 'a secret value leaked').toBe(false);
    expect(h.logs.length).toBeGreaterThan(0);
  });
});
