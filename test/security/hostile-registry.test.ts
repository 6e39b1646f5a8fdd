import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type BotHarness, MEMBER, OTHER, startBotHarness } from '../helpers/bot-harness.ts';
import { type HostileRegistry, startHostileRegistry } from '../helpers/hostile-registry.ts';

// Issue 11.1: the Fly token goes only to Fly. A member names an image on a registry they run; the
// registry records every byte it receives, over real TLS, from every path that touches an image.
describe('a hostile registry named in an image', () => {
  let evil: HostileRegistry;
  beforeAll(async () => {
    evil = await startHostileRegistry();
  });
  afterAll(async () => {
    await evil?.close();
  });

  /** Every form the Fly token could travel in. */
  const tokenForms = (token: string) => [
    token,
    Buffer.from(`x:${token}`).toString('base64'),
    Buffer.from(token).toString('base64'),
    encodeURIComponent(token),
  ];
  const expectNoCredentials = (h: BotHarness) => {
    const everything = JSON.stringify(evil.requests);
    for (const r of evil.requests) expect(r.headers.authorization, `${r.method} ${r.url}`).toBeUndefined();
    for (const form of tokenForms(h.emulator.token)) expect(everything.includes(form)).toBe(false);
  };
  const insertRow = (h: BotHarness, id: string, userId: string, status: string) =>
    h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, region, image, created_at, status_changed_at)
       values ($1, $2, $3, 'vyx-app', 'ams', $4, now() - interval '10 minutes', now() - interval '10 minutes')`,
      [id, userId, status, `${evil.host}/evil/exfil:latest`],
    );

  /** Ticks the stuck watcher until it has judged the row (the row is stuck after 1 s). */
  const watcherSees = (h: BotHarness, id: string) =>
    h.until(
      async () => (await h.bot.stuck.tick()).diagnosed.some((d) => d.machineId === id),
      'the watcher on the row',
    );

  describe('not allow-listed (the default)', () => {
    let h: BotHarness;
    beforeAll(async () => {
      h = await startBotHarness({ stuckAfterS: 1, registry: { dispatcher: evil.dispatcher } });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('/vyx start --image <evil> is refused privately: no row, no Fly request, no registry request', async () => {
      const flyBefore = h.emulator.counters.total();
      const n = h.ephemerals(MEMBER).length;
      const r = await h.command(`start --image ${evil.host}/evil/exfil:latest`, MEMBER);
      expect(r.status).toBe(200);
      const answer = await h.until(() => h.ephemerals(MEMBER)[n], 'the refusal');
      expect(answer).toContain('IMAGE_REGISTRY_NOT_ALLOWED');
      expect(answer).toContain('VYX_ALLOWED_REGISTRIES');
      expect(await h.s.store.listMachines({ userId: 'vyx-member' })).toEqual([]);
      expect(h.emulator.counters.total()).toBe(flyBefore);
      expect(evil.requests).toEqual([]);
      await h.until(async () => {
        const { rows } = await h.s.twin.backend.query(
          `select outcome, detail from audit_log where slack_user_id = $1 and name = 'start'`,
          [MEMBER],
        );
        return rows.some((row) => row.outcome === 'invalid' && row.detail === 'IMAGE_REGISTRY_NOT_ALLOWED');
      }, 'the refusal audited');
    });

    it('a row written by someone else with that image: watcher, /vyx diagnose and Retry never contact it', async () => {
      await insertRow(h, 'vyx-evil0001', 'vyx-other', 'starting');
      await watcherSees(h, 'vyx-evil0001');
      const n = h.ephemerals(ADMIN).length;
      await h.command('diagnose vyx-evil0001', ADMIN);
      await h.until(() => h.ephemerals(ADMIN).length > n, 'the diagnosis');
      await h.s.twin.backend.query(
        `update cloud_machines set status = 'failed' where machine_id = 'vyx-evil0001'`,
      );
      const m = h.ephemerals(OTHER).length;
      await h.press('vyx_retry', 'vyx-evil0001', OTHER);
      const answer = await h.until(() => h.ephemerals(OTHER)[m], 'the Retry answer');
      expect(answer).toContain('IMAGE_REGISTRY_NOT_ALLOWED');
      expect(await h.s.store.listMachines({ userId: 'vyx-other' })).toHaveLength(1);
      expect(evil.requests).toEqual([]);
    });
  });

  describe('allow-listed by an operator (VYX_ALLOWED_REGISTRIES)', () => {
    let h: BotHarness;
    beforeAll(async () => {
      evil.requests.length = 0;
      h = await startBotHarness({
        stuckAfterS: 1,
        registry: { dispatcher: evil.dispatcher, allowedRegistries: [evil.host] },
      });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('every path reaches it, and none sends a credential', async () => {
      // The watcher, on a row written by someone else.
      await insertRow(h, 'vyx-evil0002', 'vyx-other', 'starting');
      await watcherSees(h, 'vyx-evil0002');
      expect(evil.requests.length).toBeGreaterThan(0);
      expectNoCredentials(h);

      // /vyx diagnose.
      let before = evil.requests.length;
      const n = h.ephemerals(ADMIN).length;
      await h.command('diagnose vyx-evil0002', ADMIN);
      await h.until(() => h.ephemerals(ADMIN).length > n, 'the diagnosis');
      expect(evil.requests.length).toBeGreaterThan(before);

      // Retry (preflight of the new machine).
      await h.s.twin.backend.query(
        `update cloud_machines set status = 'failed' where machine_id = 'vyx-evil0002'`,
      );
      before = evil.requests.length;
      await h.press('vyx_retry', 'vyx-evil0002', OTHER);
      await h.until(() => evil.requests.length > before, 'the Retry preflight');

      // /vyx start --image (preflight).
      before = evil.requests.length;
      await h.command(`start --image ${evil.host}/evil/exfil:v2`, MEMBER);
      await h.until(() => evil.requests.length > before, 'the start preflight');
      await h.until(
        async () => (await h.s.store.listMachines({ userId: 'vyx-member' })).length === 1,
        'the allowed image provisioned',
      );
      expect(evil.requests.every((r) => r.url.startsWith('/v2/evil/exfil/manifests/'))).toBe(true);
      expectNoCredentials(h);
    });
  });
});
