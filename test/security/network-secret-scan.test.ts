import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type BotHarness, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';
import { type HostileRegistry, startHostileRegistry } from '../helpers/hostile-registry.ts';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy.ts';

type Service = 'fly' | 'slack' | 'supabase';

/** Every form a secret could travel in over HTTP. */
const forms = (secret: string) => [
  secret,
  Buffer.from(`x:${secret}`).toString('base64'),
  Buffer.from(secret).toString('base64'),
  encodeURIComponent(secret),
];

/** Where each occurrence of `needle` starts in `haystack`. */
function occurrences(haystack: Buffer, needle: string): number[] {
  const at: number[] = [];
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + 1)) at.push(i);
  return at;
}

// #11.1: recording proxies in front of every twin and a hostile registry check every byte they
// receive while the bot works — start, status, a stuck row, diagnose, an allow-listed foreign
// image, destroy — so each secret value is seen reaching only its own host.
describe('network-level secret scan', () => {
  const proxies = new Map<Service, RecordingProxy>();
  let evil: HostileRegistry;
  let h: BotHarness;
  beforeAll(async () => {
    evil = await startHostileRegistry();
    h = await startBotHarness({
      stuckAfterS: 1,
      registry: { dispatcher: evil.dispatcher, allowedRegistries: [evil.host] },
      via: async (service, url) => {
        const proxy = await startRecordingProxy(url);
        proxies.set(service, proxy);
        return proxy.url;
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const p of proxies.values()) await p.close();
    await evil?.close();
  });

  it('each secret reaches only its own host', async () => {
    await h.command('start', ADMIN);
    const [machine] = await h.until(async () => {
      const rows = await h.s.store.listMachines({ userId: 'vyx-admin' });
      return rows[0]?.status === 'running' ? rows : undefined;
    }, 'the machine running');
    await h.command('status', ADMIN);
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ('vyx-scan0001', 'vyx-other', 'starting', 'vyx-app', 'registry.fly.io/vyx-app:gone')`,
    );
    await h.until(
      async () => (await h.bot.stuck.tick()).diagnosed.some((d) => d.machineId === 'vyx-scan0001'),
      'the stuck row diagnosed',
    );
    const n = h.ephemerals(ADMIN).length;
    await h.command('diagnose vyx-scan0001', ADMIN);
    await h.until(() => h.ephemerals(ADMIN).length > n, 'the diagnosis');
    await h.command(`start --image ${evil.host}/team/app:v1`, MEMBER);
    await h.until(() => evil.requests.length > 0, 'the allow-listed registry asked');
    await h.press('vyx_destroy', machine!.machine_id, ADMIN);
    await h.until(
      async () => (await h.s.store.getMachine(machine!.machine_id)).status === 'destroyed',
      'the machine destroyed',
    );

    const received: Record<Service | 'evil registry', Buffer> = {
      fly: proxies.get('fly')!.received(),
      slack: proxies.get('slack')!.received(),
      supabase: proxies.get('supabase')!.received(),
      'evil registry': Buffer.from(JSON.stringify(evil.requests)),
    };
    for (const [host, bytes] of Object.entries(received)) expect(bytes.length, host).toBeGreaterThan(0);
    // The scan sees secrets where they belong (else it proves nothing).
    expect(occurrences(received.fly, `Bearer ${h.emulator.token}`).length).toBeGreaterThan(0);
    expect(occurrences(received.slack, h.slack.botToken).length).toBeGreaterThan(0);
    expect(occurrences(received.supabase, h.s.twin.serviceKey).length).toBeGreaterThan(0);

    const home: Record<string, { secret: string; hosts: string[] }> = {
      'the Fly token': { secret: h.emulator.token, hosts: ['fly'] },
      'the Slack bot token': { secret: h.slack.botToken, hosts: ['slack'] },
      'the Supabase service key': { secret: h.s.twin.serviceKey, hosts: ['supabase'] },
      'the signing secret': { secret: h.signingSecret, hosts: [] },
      // Machines get their own token (#11.2): the JWT secret that signs it stays with the bot.
      'the JWT secret': { secret: h.s.twin.jwtSecret, hosts: [] },
    };
    for (const [name, { secret, hosts }] of Object.entries(home)) {
      for (const [host, bytes] of Object.entries(received)) {
        if (hosts.includes(host)) continue;
        for (const form of forms(secret)) {
          const found = occurrences(bytes, form);
          expect(found, `${name} reached ${host}`).toEqual([]);
        }
      }
    }
  });
});
