import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../testkit/until.ts';
import {
  FAKE_SECRETS,
  flyMachineId,
  type RuntimeRun,
  spawnRuntime,
  uniqueUser,
  watching,
} from '../helpers/runtime/runtime-process.ts';
import { type RuntimeTwin, startRuntimeTwin } from '../helpers/runtime/runtime-twin.ts';
import { BACKENDS } from '../helpers/store-backends.ts';

const OUTAGE_MS = 10_000;

// Supabase (here: the local gateway) is down for 10 s while a machine boots. The runtime must keep
// its reports queued, in order, and deliver every one once the gateway is back.
describe.each(BACKENDS)('runtime process when the gateway is down during boot, on %s', (kind) => {
  let twin: RuntimeTwin;
  let run: RuntimeRun | undefined;
  beforeAll(async () => {
    twin = await startRuntimeTwin(kind);
  });
  afterEach(() => {
    // Retry lines quote store errors: still no secret value in them.
    const out = run?.output() ?? '';
    for (const secret of [twin.serviceKey, ...Object.values(FAKE_SECRETS)]) expect(out).not.toContain(secret);
  });
  afterAll(async () => {
    if (run) {
      run.signal('SIGKILL');
      await run.exited;
    }
    await twin?.close();
  });

  it('reports running after the gateway returns, then heartbeats and stopped, in order, nothing lost', async () => {
    const fly = flyMachineId();
    const id = await twin.newMachine(fly);
    const bootedAt = Date.now();
    await twin.gatewayDown();
    const r = spawnRuntime({
      MACHINE_ID: id,
      USER_ID: uniqueUser(),
      SUPABASE_URL: twin.url,
      SUPABASE_SERVICE_KEY: twin.serviceKey,
      FLY_MACHINE_ID: fly,
      VYX_HEARTBEAT_INTERVAL_S: '0.5',
      LOG_LEVEL: 'debug',
      ...FAKE_SECRETS,
    });
    run = r;

    // While the gateway is down: the runtime stays up, says it is retrying, and queues a heartbeat behind `running`.
    await until(
      () => r.records().some((rec) => rec.msg === 'report queued' && rec.op === 'heartbeat'),
      'a heartbeat queued behind running',
      watching(r),
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, bootedAt + OUTAGE_MS - Date.now())));
    expect(r.hasExited()).toBe(false);
    expect((await twin.row(id)).status).toBe('starting');
    const retries = r.records().filter((rec) => String(rec.msg).startsWith('the store is unreachable'));
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(retries[0]?.op).toBe('status running');

    await twin.gatewayUp();
    await until(
      async () => (await twin.row(id)).status === 'running',
      'the row to say running',
      watching(r, 30_000),
    );
    const runningHeartbeat = new Date((await twin.row(id)).last_heartbeat_at as string).getTime();
    await until(
      async () => new Date((await twin.row(id)).last_heartbeat_at as string).getTime() > runningHeartbeat,
      'a heartbeat after running',
      watching(r, 15_000),
    );

    r.signal('SIGTERM');
    expect((await r.waitForExit(10_000)).code).toBe(0);

    // The row's history: every status once, in order.
    expect(await twin.statusEvents(id)).toEqual(['starting', 'running', 'stopped']);
    // The runtime's own account: deliveries in the order they were queued, running first, stopped last.
    const delivered = r
      .records()
      .filter((rec) => rec.msg === 'heartbeat recorded' || String(rec.msg).startsWith('reported '))
      .map((rec) => ({ seq: Number(rec.seq), op: String(rec.op) }));
    expect(delivered[0]).toEqual({ seq: 1, op: 'status running' });
    expect(delivered.at(-1)?.op).toBe('status stopped');
    expect(delivered.some((d) => d.op === 'heartbeat')).toBe(true);
    const seqs = delivered.map((d) => d.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // Nothing queued was dropped: every queued report was delivered.
    const queued = r
      .records()
      .filter((rec) => rec.msg === 'report queued')
      .map((rec) => Number(rec.seq));
    expect(seqs).toEqual(queued);
  }, 90_000);

  it('asked to stop while the store is still down, it gives up within the stop timeout and exits 75', async () => {
    const id = await twin.newMachine();
    await twin.gatewayDown();
    const r = spawnRuntime({
      MACHINE_ID: id,
      USER_ID: uniqueUser(),
      SUPABASE_URL: twin.url,
      SUPABASE_SERVICE_KEY: twin.serviceKey,
      VYX_STOP_TIMEOUT_S: '2',
      ...FAKE_SECRETS,
    });
    run = r;
    await until(
      () => r.records().some((rec) => String(rec.msg).startsWith('the store is unreachable')),
      'a retry line',
      watching(r),
    );
    r.signal('SIGTERM');
    // Generous bound: the runtime's own deadline is 1.5 s; Fly would SIGKILL it after 2 s.
    const exit = await r.waitForExit(10_000);
    expect(exit).toEqual({ code: 75, signal: null });
    expect(r.records().some((rec) => String(rec.msg).includes('stop deadline'))).toBe(true);
    await twin.gatewayUp();
    expect((await twin.row(id)).status).toBe('starting');
  }, 60_000);
});
