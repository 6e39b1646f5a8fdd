// ack: signed `/vyx help` slash commands to the HTTP receiver, timed from request to the HTTP
// answer (the ack), for vyxbot and, in the same run, for a bare Bolt app on the same receiver
// settings that acknowledges and does nothing (the baseline: what Bolt, Node and this machine cost).
// `help` is answered in the ack's body (as Slack allows: it shows it to the asker); vyxbot's work
// after the ack (the audit row, batched) runs concurrently, as in production — what it costs other
// requests' acks is what the ratio to the baseline shows.
// The two alternate in rounds (bare, bot, bot, bare, …) so a shared machine's drift hits both alike.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { until } from '../../testkit/until.ts';
import type { AckLoadInput, AckLoadOutput } from '../ack-load-worker.ts';
import { ADMIN, type BotProcess, CHANNEL, pct, r2, type Services, TEAM } from '../lib.ts';

export interface AckLevel {
  concurrency: number;
  requests: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  /** p99 over Slack's 3,000 ms limit. */
  p99_ratio_to_slack_limit: number;
  non_200: number;
  wall_ms: number;
  /** The app process's CPU time per request, ms (its ack and everything it does after). */
  cpu_ms_per_request?: number;
  /** The bench's main thread (the Supabase and Slack twins) per request, ms: the services' share. */
  services_cpu_ms_per_request?: number;
}

export interface AckResult {
  /** vyxbot, by concurrency (`c1`, `c10`, `c50`). */
  vyxbot: Record<string, AckLevel>;
  /** The bare Bolt app, same levels. */
  baseline: Record<string, AckLevel>;
  rounds: number;
}

const SLACK_LIMIT_MS = 3000;

/** This thread's CPU time so far, ms (the twins' thread: the load generator has its own). */
function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/** A thread that sends bodies to a bot from `concurrency` clients and times them (bench/ack-load-worker.ts). */
function startLoadThread() {
  const w = new Worker(new URL('../ack-load-worker.ts', import.meta.url));
  let failed: Error | undefined;
  w.on('error', (err) => {
    failed = err;
  });
  return {
    send(b: BotProcess, bodies: string[], concurrency: number): Promise<AckLoadOutput> {
      if (failed) return Promise.reject(failed);
      const input: AckLoadInput = {
        url: b.url,
        signingSecret: b.signingSecret,
        bodies,
        concurrency,
        deadlineMs: 120_000,
      };
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => {
          w.off('message', onMessage);
          reject(err);
        };
        const onMessage = (out: AckLoadOutput) => {
          w.off('error', onError);
          resolve(out);
        };
        w.once('message', onMessage);
        w.once('error', onError);
        w.postMessage(input);
      });
    },
    close: () => w.terminate(),
  };
}

export async function ackScenario(
  svc: Services,
  apps: { bot: BotProcess; bare: BotProcess },
  o: { requests: number; levels: number[]; rounds?: number; text?: string; log: (s: string) => void },
): Promise<AckResult> {
  await svc.store.linkIdentity({ slackTeamId: TEAM, slackUserId: ADMIN, userId: 'vyx-admin', role: 'admin' });
  function body(): string {
    return new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: TEAM,
      team_domain: 'vyx-bench',
      channel_id: CHANNEL,
      channel_name: 'vyx-bench',
      user_id: ADMIN,
      user_name: 'admin',
      command: '/vyx',
      text: o.text ?? 'help',
      api_app_id: 'A0VYXBENCH',
      response_url: svc.slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: ADMIN }),
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    }).toString();
  }
  const load = startLoadThread();
  const settled = (b: BotProcess, what: string) =>
    until(async () => (await b.stats()).inFlight === 0, what, 120_000);
  // Warm-up: connections, JIT.
  for (const b of [apps.bare, apps.bot]) {
    await load.send(b, Array.from({ length: 50 }, body), 1);
    await settled(b, 'warm-up commands to finish');
  }

  /** `requests` requests from `c` concurrent clients, sent and timed on the load thread. */
  async function burst(b: BotProcess, c: number, requests: number) {
    const got = await load.send(b, Array.from({ length: requests }, body), c);
    // Let the commands' work after the ack drain before the next round.
    await settled(b, 'commands to finish');
    return got;
  }

  const rounds = o.rounds ?? 4;
  const out: AckResult = { vyxbot: {}, baseline: {}, rounds };
  for (const c of o.levels) {
    const acc = {
      bare: { times: [] as number[], non200: 0, wall: 0, cpu: 0, services: 0 },
      bot: { times: [] as number[], non200: 0, wall: 0, cpu: 0, services: 0 },
    };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['bare', 'bot'] as const) : (['bot', 'bare'] as const);
      for (const which of order) {
        const cpu0 = (await apps[which].stats()).cpuMs;
        const services0 = threadCpuMs();
        const t0 = performance.now();
        const got = await burst(apps[which], c, Math.ceil(o.requests / rounds));
        acc[which].wall += performance.now() - t0;
        acc[which].services += threadCpuMs() - services0;
        acc[which].cpu += (await apps[which].stats()).cpuMs - cpu0;
        acc[which].times.push(...got.times);
        acc[which].non200 += got.non200;
      }
    }
    const level = (a: (typeof acc)['bot']): AckLevel => ({
      concurrency: c,
      requests: a.times.length,
      p50_ms: r2(pct(a.times, 0.5)),
      p95_ms: r2(pct(a.times, 0.95)),
      p99_ms: r2(pct(a.times, 0.99)),
      max_ms: r2(Math.max(...a.times)),
      p99_ratio_to_slack_limit: Math.round((pct(a.times, 0.99) / SLACK_LIMIT_MS) * 10_000) / 10_000,
      non_200: a.non200,
      wall_ms: Math.round(a.wall),
      cpu_ms_per_request: r2(a.cpu / a.times.length),
      services_cpu_ms_per_request: r2(a.services / a.times.length),
    });
    const bot = level(acc.bot);
    const bare = level(acc.bare);
    o.log(
      `  ack c${c}: vyxbot p50 ${bot.p50_ms} p95 ${bot.p95_ms} p99 ${bot.p99_ms} ms; bare Bolt p50 ${bare.p50_ms} p95 ${bare.p95_ms} p99 ${bare.p99_ms} ms; p99 ratio ${r2(bot.p99_ms / bare.p99_ms)}; CPU/request ${bot.cpu_ms_per_request} vs ${bare.cpu_ms_per_request} ms, twins ${bot.services_cpu_ms_per_request} vs ${bare.services_cpu_ms_per_request} ms (${bot.requests} requests each, ${bot.non_200}/${bare.non_200} non-200)`,
    );
    out.vyxbot[`c${c}`] = bot;
    out.baseline[`c${c}`] = bare;
  }
  await load.close();
  return out;
}
