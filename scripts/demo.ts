// `npm run demo`: the incidents replayed end to end on the local stack, with the conversation
// printed as the terminal Slack shows it. Everything is local and starts from an empty data dir.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { startBot } from '../src/app/run-bot.ts';
import { loadConfig } from '../src/config.ts';
import { buildMachineEnv } from '../src/contract/build-machine-env.ts';
import { createFlyMachinesClient } from '../src/fly/machines-client.ts';
import { createLogger } from '../src/logger.ts';

const STUCK_AFTER_S = 5;
const dataDir = mkdtempSync(join(tmpdir(), 'vyx-demo-'));
const config = loadConfig({
  VYX_DATA_DIR: dataDir,
  SUPABASE_LOCAL_PORT: '0',
  FLY_LOCAL_PORT: '0',
  VYX_STUCK_AFTER_S: String(STUCK_AFTER_S),
  VYX_STUCK_SCHEDULE: '*/2 * * * * *',
  VYX_ECHO_POLL_MS: '200',
  VYX_SHELL_TIMEOUT_S: '60',
});
const out = process.stdout;
const say = (title: string, why: string) => out.write(`\n\x1b[1m── ${title}\x1b[0m\n   ${why}\n\n`);

const logger = createLogger({
  level: 'info',
  format: 'json',
  destination: pino.destination({ dest: join(dataDir, 'vyxbot.log'), sync: false }),
});
const running = await startBot(config, { logger, io: { input: new PassThrough(), output: out } });
const { stack, store } = running;
const local = stack.slack.local!;
const twin = stack.supabase.twin!;
const fly = createFlyMachinesClient({ baseUrl: stack.fly.apiUrl, token: stack.fly.token });

/** As the web UI's edge function did: a row and a Fly machine with an env it built by hand. */
async function behindTheBotsBack(image: string, env: (e: Record<string, string>) => Record<string, string>) {
  const machineId = `vyx-${randomBytes(4).toString('hex')}`;
  const userId = `web-user-${machineId.slice(4)}`;
  await twin.backend.query(
    `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', $3, $4)`,
    [machineId, userId, config.flyApp, image],
  );
  const base = buildMachineEnv({
    machineId,
    userId,
    supabaseUrl: stack.supabase.url,
    supabaseServiceKey: stack.supabase.serviceKey,
  });
  const m = await fly.create(config.flyApp, {
    config: { image, env: env(base), auto_destroy: true, restart: { policy: 'no' } },
  });
  await twin.backend.query(`update cloud_machines set fly_machine_id = $2 where machine_id = $1`, [
    machineId,
    m.id,
  ]);
  out.write(`   (web UI) row ${machineId} → Fly machine ${m.id} from ${image}\n`);
  return machineId;
}

async function untilFlagged(ids: string[], limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    const rows = await Promise.all(ids.map((id) => store.getMachine(id)));
    if (rows.every((r) => r.flagged_at) && (await store.pendingEvents()).count === 0) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

let ok = true;
try {
  say(
    '1. A start with a tag that does not exist',
    'Preflight asks the registry first and refuses, instead of creating a machine that cannot start.',
  );
  await local.receiver.runLine('/vyx start --image stub');
  await local.receiver.waitUntilSettled();

  say(
    '2. A healthy start',
    'The parent message anchors a thread; every status change is echoed into it, up to running.',
  );
  await local.receiver.runLine('/vyx start');
  await local.receiver.waitUntilSettled();

  say(
    '3. Three machines started behind the bot’s back, as the web UI’s edge function did',
    `A missing :stub tag with auto_destroy (incident 001), SUPABASE_SERVICE_ROLE_KEY in place of SUPABASE_SERVICE_KEY, and no MACHINE_ID (incident 000). The watcher flags rows stuck in starting for ${STUCK_AFTER_S} s and explains each in the alert channel.`,
  );
  const ids = [
    await behindTheBotsBack('registry.fly.io/vyx-app:stub', (e) => e),
    await behindTheBotsBack('registry.fly.io/vyx-app:latest', ({ SUPABASE_SERVICE_KEY, ...e }) => ({
      ...e,
      SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_KEY!,
    })),
  ];
  // Without MACHINE_ID and with no Fly id on the row, the runtime cannot find its row.
  const noId = `vyx-${randomBytes(4).toString('hex')}`;
  await twin.backend.query(
    `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', $3, $4)`,
    [noId, 'web-user-noid', config.flyApp, config.flyImage],
  );
  const { MACHINE_ID, ...withoutId } = buildMachineEnv({
    machineId: noId,
    userId: 'web-user-noid',
    supabaseUrl: stack.supabase.url,
    supabaseServiceKey: stack.supabase.serviceKey,
  });
  const m = await fly.create(config.flyApp, {
    config: { image: config.flyImage, env: withoutId, restart: { policy: 'no' } },
  });
  out.write(`   (web UI) row ${noId} → Fly machine ${m.id} started without MACHINE_ID\n`);
  ids.push(noId);
  ok = await untilFlagged(ids, 60_000);
  if (!ok) out.write('\n   The watcher did not flag all three within 60 s — see the log.\n');
} finally {
  say('Done', `Transcript: ${local.transcriptFile}; log: ${join(dataDir, 'vyxbot.log')}`);
  await running.shutdown('demo finished');
  if (!process.env.VYX_DEMO_KEEP) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
