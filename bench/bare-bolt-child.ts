// The ack baseline: a bare Bolt app in a process of its own, on the same receiver settings as the
// bot (Bolt's HTTPReceiver, signature checked, /slack/events), whose `/vyx` handler acknowledges and
// does nothing. Same IPC as bench/bot-child.ts (ready, stats, stop), so the ack scenario drives both alike.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { BotChildInput } from './bot-child.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as Partial<BotChildInput>;
const signingSecret = `bench-${randomBytes(8).toString('hex')}`;
const app = new App({
  // `authorize`, as production does: Bolt never calls auth.test (and the bare app never calls Slack).
  authorize: async () => ({ botToken: 'xoxb-bench-bare', botId: 'B0BENCHBARE', botUserId: 'U0BENCHBARE' }),
  ...(input.slackApiUrl ? { clientOptions: { slackApiUrl: input.slackApiUrl } } : {}),
  receiver: new HTTPReceiver({ signingSecret, endpoints: '/slack/events' }),
  logLevel: LogLevel.ERROR,
});
app.command('/vyx', async ({ ack }) => {
  await ack();
});
const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

const stats = () => ({
  kind: 'stats',
  inFlight: 0,
  delivered: 0,
  stuckTicks: 0,
  rssMb: process.memoryUsage().rss / 2 ** 20,
  cpuMs: cpuMs(),
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
  externalMb: process.memoryUsage().external / 2 ** 20,
  logLines: 0,
});
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') process.send?.(stats());
  if (m.cmd === 'gc') process.send?.({ ...stats(), kind: 'gc' });
  if (m.cmd === 'stop') {
    void (async () => {
      await app.stop().catch(() => {});
      process.send?.({ ...stats(), kind: 'stopped' });
      process.disconnect?.();
      process.exit(0);
    })();
  }
});
process.send?.({ kind: 'ready', url, signingSecret });

/** CPU time (user + system) the process has used, ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
