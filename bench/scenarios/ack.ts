// ack: signed `/vyx help` slash commands to Bolt's HTTP receiver, timed from request to the HTTP
// answer (the ack). `help` is the cheapest command: what is measured is signature check, body
// parsing, routing and ack(); the command's own work (identity lookup, the ephemeral answer through
// response_url, the audit row) runs after the ack, concurrently, as in production.
import { randomBytes } from 'node:crypto';
import { sign } from '../../testkit/slack-signature.ts';
import { until } from '../../testkit/until.ts';
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
}

const SLACK_LIMIT_MS = 3000;

export async function ackScenario(
  svc: Services,
  b: BotProcess,
  o: { requests: number; levels: number[]; log: (s: string) => void },
): Promise<Record<string, AckLevel>> {
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
      text: 'help',
      api_app_id: 'A0VYXBENCH',
      response_url: svc.slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: ADMIN }),
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    }).toString();
  }
  async function one(): Promise<{ ms: number; status: number }> {
    const text = body();
    const ts = Math.floor(Date.now() / 1000);
    const t0 = performance.now();
    const r = await fetch(b.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': sign(b.signingSecret, ts, text),
      },
      body: text,
    });
    await r.text();
    return { ms: performance.now() - t0, status: r.status };
  }
  // Warm-up: connections, JIT.
  for (let i = 0; i < 50; i++) await one();
  await until(async () => (await b.stats()).inFlight === 0, 'warm-up commands to finish', 60_000);

  const out: Record<string, AckLevel> = {};
  for (const c of o.levels) {
    const times: number[] = [];
    let non200 = 0;
    let issued = 0;
    const deadline = Date.now() + 120_000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (issued < o.requests && Date.now() < deadline) {
          issued++;
          const r = await one();
          times.push(r.ms);
          if (r.status !== 200) non200++;
        }
      }),
    );
    const wall = performance.now() - t0;
    // Let the commands' work after the ack drain before the next level.
    await until(async () => (await b.stats()).inFlight === 0, 'commands to finish', 120_000);
    const level: AckLevel = {
      concurrency: c,
      requests: times.length,
      p50_ms: r2(pct(times, 0.5)),
      p95_ms: r2(pct(times, 0.95)),
      p99_ms: r2(pct(times, 0.99)),
      max_ms: r2(Math.max(...times)),
      p99_ratio_to_slack_limit: Math.round((pct(times, 0.99) / SLACK_LIMIT_MS) * 10_000) / 10_000,
      non_200: non200,
      wall_ms: Math.round(wall),
    };
    o.log(
      `  ack c${c}: p50 ${level.p50_ms} p95 ${level.p95_ms} p99 ${level.p99_ms} ms (${times.length} requests, ${non200} non-200)`,
    );
    out[`c${c}`] = level;
  }
  return out;
}
