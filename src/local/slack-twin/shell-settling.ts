/**
 * When the shell's work is done: the bot's `settled()` is true, no delivery is still running and no
 * Slack API call came for `quietMs` — and, when it is not, one line naming what is still pending.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SlackApiServer } from './slack-api-server.ts';

export type SettleResult = { settled: true } | { settled: false; pending: string };

/** What the shell knows about the work; read afresh on every check (the bot may replace `settled`). */
export interface SettleProbe {
  slack: Pick<SlackApiServer, 'activity'>;
  settled: () => Promise<boolean> | boolean;
  describePending: () => Promise<string> | string;
  /** Labels of deliveries Bolt is still working on. */
  runningDeliveries: () => string[];
  /** True once the shell was stopped: waiting ends at once. */
  stopped: () => boolean;
  now: () => number;
  quietMs: number;
  pollMs: number;
}

/** Polls until settled, or until `limitMs` passed (answering what was still pending). */
export async function waitUntilSettled(probe: SettleProbe, limitMs: number): Promise<SettleResult> {
  const deadline = probe.now() + limitMs;
  for (;;) {
    const activity = probe.slack.activity();
    const quiet =
      activity.inFlight === 0 &&
      (activity.lastCallAt === undefined || probe.now() - activity.lastCallAt >= probe.quietMs);
    if (probe.stopped()) return { settled: false, pending: 'the shell was stopped' };
    if (quiet && probe.runningDeliveries().length === 0 && (await isSettled(probe))) {
      return { settled: true };
    }
    if (probe.now() >= deadline) return { settled: false, pending: await pending(probe) };
    await sleep(probe.pollMs);
  }
}

/** settled(), with a throw counting as "not yet" (pending() names the error). */
async function isSettled(probe: SettleProbe): Promise<boolean> {
  try {
    return await probe.settled();
  } catch {
    return false;
  }
}

async function pending(probe: SettleProbe): Promise<string> {
  const parts: string[] = [];
  let settled = false;
  try {
    settled = await probe.settled();
  } catch (error) {
    parts.push(`settled() failed: ${String(error)}`);
  }
  if (!settled) {
    const what = await probe.describePending();
    parts.push(`the bot is not settled${what ? ` (${what})` : ''}`);
  }
  const running = probe.runningDeliveries();
  if (running.length > 0) parts.push(`${running.length} delivery still running: ${running.join(', ')}`);
  const activity = probe.slack.activity();
  if (activity.inFlight > 0) parts.push(`${activity.inFlight} Slack call(s) being answered`);
  else if (activity.lastCallAt !== undefined && probe.now() - activity.lastCallAt < probe.quietMs)
    parts.push('Slack calls still coming');
  return parts.length > 0 ? parts.join('; ') : 'nothing (it settled just now)';
}
