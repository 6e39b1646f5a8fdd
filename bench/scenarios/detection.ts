// detection: an injected failure — a machine created behind the bot's back (as the web UI's edge
// function did, incident 001) from a tag missing in the registry, with auto_destroy — → the
// IMAGE_TAG_MISSING alert in the Slack twin. Timed from the row's insert (its `starting` clock) to
// the alert's arrival. The bot runs in its own process with the stuck watcher on its schedule.
import { randomBytes } from 'node:crypto';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import type { SlackTranscriptEntry } from '../../src/local/slack-twin/slack-transcript.ts';
import { until } from '../../testkit/until.ts';
import { CHANNEL, FLY_APP, pct, r1, resetTables, type Services, sleep } from '../lib.ts';

export interface DetectionResult {
  repetitions: number;
  threshold_s: number;
  interval_s: number;
  schedule: string;
  target_ms: number;
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
  alerts: number;
  stagger_ms: number;
}

export async function detectionScenario(
  svc: Services,
  o: {
    repetitions: number;
    thresholdS: number;
    intervalS: number;
    schedule: string;
    /** Between injections. Alerts share the alert channel, paced to 1 message/s: keep under it. */
    staggerMs: number;
    /** The bound the p95 is held to (default: threshold + interval + 2 s, the stuck watcher's). */
    targetMs?: number;
    log: (s: string) => void;
  },
): Promise<DetectionResult> {
  await resetTables(svc);
  const injected = new Map<string, number>();
  const alerted = new Map<string, number>();
  const listener = (e: SlackTranscriptEntry) => {
    if (e.method !== 'chat.postMessage' || e.args.thread_ts || e.args.channel !== CHANNEL) return;
    const text = String(e.args.text ?? '');
    if (!text.startsWith('IMAGE_TAG_MISSING')) return;
    for (const id of injected.keys())
      if (text.includes(id) && !alerted.has(id)) alerted.set(id, performance.now());
  };
  svc.onSlack.add(listener);
  try {
    const image = `registry.fly.io/${FLY_APP}:stub-${randomBytes(2).toString('hex')}`;
    const inject = async () => {
      const machineId = `vyx-det-${randomBytes(4).toString('hex')}`;
      const userId = `web-${machineId}`;
      await svc.twin.backend.query(
        `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', $3, $4)`,
        [machineId, userId, FLY_APP, image],
      );
      injected.set(machineId, performance.now());
      const env = buildMachineEnv({
        machineId,
        userId,
        supabaseUrl: svc.twin.url,
        supabaseServiceKey: svc.twin.serviceKey,
      });
      const m = await svc.fly.create(FLY_APP, {
        region: 'ams',
        config: { image, env, auto_destroy: true, restart: { policy: 'no' } },
      });
      await svc.twin.backend.query(`update cloud_machines set fly_machine_id = $2 where machine_id = $1`, [
        machineId,
        m.id,
      ]);
    };
    // Staggered so the injections fall at different points of the watcher's schedule.
    const stagger = o.staggerMs;
    const all: Promise<void>[] = [];
    for (let i = 0; i < o.repetitions; i++) {
      all.push(inject());
      await sleep(stagger);
    }
    await Promise.all(all);
    const bound = (o.thresholdS + o.intervalS) * 1000 + 60_000;
    await until(() => alerted.size >= o.repetitions, `${o.repetitions} alerts`, bound);
  } finally {
    svc.onSlack.delete(listener);
  }
  const lat = [...injected].map(([id, t]) => (alerted.get(id) ?? Number.NaN) - t);
  const res: DetectionResult = {
    repetitions: o.repetitions,
    threshold_s: o.thresholdS,
    interval_s: o.intervalS,
    schedule: o.schedule,
    target_ms: o.targetMs ?? (o.thresholdS + o.intervalS + 2) * 1000,
    p50_ms: r1(pct(lat, 0.5)),
    p95_ms: r1(pct(lat, 0.95)),
    max_ms: r1(Math.max(...lat)),
    alerts: alerted.size,
    stagger_ms: o.staggerMs,
  };
  o.log(
    `  detection: p50 ${res.p50_ms} p95 ${res.p95_ms} ms over ${res.repetitions} (target ${res.target_ms} ms; threshold ${o.thresholdS} s, interval ${o.intervalS} s)`,
  );
  return res;
}
