// echo: runtime status writes (store.reportStatus, as the runtime does) → the change visible in the
// Slack twin (the first message carrying it: its thread reply, or the burst message a channel's burst
// is folded into, posted or edited), timed from the committed write to the call's arrival at the
// Slack Web API twin, which enforces Slack's rate limits (run-bench's startServices). The
// bot runs in its own process with the echo as main.ts wires it on a local database (LISTEN wakes
// it; polling every VYX_ECHO_POLL_MS = 1000 ms is the guarantee) and the default per-channel pacing
// (perChannelPerSecond, perChannelBurst: EchoWatcher's defaults, recorded in the results).
import type { SlackTranscriptEntry } from '../../src/local/slack-twin/slack-transcript.ts';
import { until } from '../../testkit/until.ts';
import { type BotProcess, pct, r1, resetTables, type Services, sleep, TEAM } from '../lib.ts';

/** The Slack twin's bot user (its default identity): the echo may edit only the bot's own messages. */
const BOT_USER = 'U0VYXBOT01';

export const echoChannel = (i: number) => `C0ECHO${String(i).padStart(4, '0')}`;
/** A channel of its own for the one-channel run, so its pacing bucket starts full. */
export const SOLO_CHANNEL = 'C0ECHOSOLO';

export interface EchoResult {
  writes: number;
  channels: number;
  rate_per_s: number;
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
  /** Changes seen in Slack (each machine's first message carrying its new status). */
  replies: number;
  /** Slack messages posted or edited to carry the changes (edits of the machines' own cards apart). */
  messages: number;
  /** Edits of the machines' own cards (thread parents) by the time every change was visible and the outbox drained. */
  card_updates: number;
  /** Calls Slack's rate limits refused (429) during the run. */
  rate_limited: number;
}

/**
 * `writes` machines, each with its parent message (a thread) in `channels` channels; each gets one
 * `running` write, issued at `ratePerS` (0 = all at once). Resolves latency percentiles.
 */
async function run(
  svc: Services,
  o: { writes: number; channels: number; ratePerS: number; label: string },
): Promise<EchoResult> {
  await resetTables(svc);
  const threads = new Map<string, string>(); // machineId → `${channel} ${thread ts}`
  const ids: string[] = [];
  const q = (sql: string, params?: unknown[]) => svc.twin.backend.query(sql, params);
  const mids: string[] = [];
  const chans: string[] = [];
  const tss: string[] = [];
  for (let i = 0; i < o.writes; i++) {
    const machineId = `vyx-echo-${o.label}-${i}`;
    const channel = o.channels === 1 ? SOLO_CHANNEL : echoChannel(i % o.channels);
    // Posted as the bot, as the provisioner does: the echo keeps these cards current with chat.update.
    const parent = svc.slack.workspace.post({ channel, user: BOT_USER, text: `Machine ${machineId}` });
    threads.set(`${channel} ${parent.ts}`, machineId);
    ids.push(machineId);
    mids.push(machineId);
    chans.push(channel);
    tss.push(parent.ts);
  }
  await q(
    `insert into cloud_machines (machine_id, user_id, status, fly_app, slack_team_id, slack_channel, slack_thread_ts, requested_by)
     select m, 'u-' || m, 'starting', 'vyx-app', $4, c, t, 'U0BENCHADM' from unnest($1::text[], $2::text[], $3::text[]) as x(m, c, t)`,
    [mids, chans, tss, TEAM],
  );
  // The rows' first events (`starting`, never shown) drain first.
  await until(
    async () => (await svc.store.pendingEvents()).count === 0,
    'the starting events to drain',
    120_000,
  );

  const written = new Map<string, number>();
  const replied = new Map<string, number>();
  const parents = new Set(tss);
  const channels = new Set(chans);
  const counts = { messages: 0, card_updates: 0, rate_limited: 0 };
  const listener = (e: SlackTranscriptEntry) => {
    if (e.method !== 'chat.postMessage' && e.method !== 'chat.update') return;
    if (!channels.has(String(e.args.channel))) return;
    if (e.status === 429) counts.rate_limited++;
    // Slack answers a refused call with 200 and ok: false (cant_update_message, msg_too_long…).
    if (e.status !== 200 || (e.response as { ok?: boolean } | undefined)?.ok !== true) return;
    if (e.method === 'chat.update' && parents.has(String(e.args.ts))) {
      counts.card_updates++;
      return;
    }
    counts.messages++;
    // A reply names its machine; a burst message names every machine in it (`id` in backticks).
    const text = String(e.args.text ?? '');
    const t = performance.now();
    if (e.method === 'chat.postMessage' && e.args.thread_ts) {
      const id = threads.get(`${String(e.args.channel)} ${String(e.args.thread_ts)}`);
      if (id && !replied.has(id)) replied.set(id, t);
      return;
    }
    for (const id of ids) if (!replied.has(id) && text.includes(`\`${id}\``)) replied.set(id, t);
  };
  svc.onSlack.add(listener);
  try {
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (o.ratePerS > 0) {
        const due = t0 + (i * 1000) / o.ratePerS;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const id = ids[i]!;
      pending.push(
        svc.store.reportStatus(id, 'running').then(() => {
          written.set(id, performance.now());
        }),
      );
    }
    await Promise.all(pending);
    const bound = 60_000 + (o.writes / Math.max(1, o.channels)) * 1500;
    await until(() => replied.size >= ids.length, `${ids.length} changes visible`, bound);
    await until(async () => (await svc.store.pendingEvents()).count === 0, 'the outbox to drain', bound);
  } finally {
    svc.onSlack.delete(listener);
  }
  const lat = ids.map((id) => Math.max(0, (replied.get(id) ?? Number.NaN) - (written.get(id) ?? Number.NaN)));
  return {
    writes: ids.length,
    channels: o.channels,
    rate_per_s: o.ratePerS,
    p50_ms: r1(pct(lat, 0.5)),
    p95_ms: r1(pct(lat, 0.95)),
    max_ms: r1(Math.max(...lat)),
    replies: replied.size,
    ...counts,
  };
}

export async function echoScenario(
  svc: Services,
  _bot: BotProcess,
  o: { writes: number; ratePerS: number; oneChannelWrites: number; log: (s: string) => void },
): Promise<{ main: EchoResult; burst: EchoResult; one_channel?: EchoResult }> {
  const main = await run(svc, {
    writes: o.writes,
    channels: o.writes,
    ratePerS: o.ratePerS,
    label: 'steady',
  });
  o.log(
    `  echo ${o.writes} writes at ${o.ratePerS}/s, one channel each: p50 ${main.p50_ms} p95 ${main.p95_ms} ms`,
  );
  const burst = await run(svc, { writes: o.writes, channels: o.writes, ratePerS: 0, label: 'burst' });
  o.log(`  echo ${o.writes} writes at once, one channel each: p50 ${burst.p50_ms} p95 ${burst.p95_ms} ms`);
  let one: EchoResult | undefined;
  if (o.oneChannelWrites > 0) {
    one = await run(svc, { writes: o.oneChannelWrites, channels: 1, ratePerS: 0, label: 'one' });
    o.log(
      `  echo ${o.oneChannelWrites} writes at once into one channel (folded): ${one.messages} messages, p50 ${one.p50_ms} p95 ${one.p95_ms} ms, ${one.rate_limited} refused (429)`,
    );
  }
  return { main, burst, ...(one ? { one_channel: one } : {}) };
}
