// The ack baseline: a bare Bolt app in a process of its own, on the same receiver settings as the
// bot (Bolt's HTTPReceiver, signature checked, /slack/events), whose `/vyx` handler acknowledges and
// does nothing. Same IPC as bench/bot-child.ts (ready, stats, stop), so the ack scenario drives both alike.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { BotChildInput } from './bot-child.ts';
import { processFigures, serveChildIpc } from './child-ipc.ts';

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

serveChildIpc({
  url,
  signingSecret,
  stats: () => ({ ...processFigures(), inFlight: 0, delivered: 0, stuckTicks: 0, logLines: 0 }),
  stop: async () => {
    await app.stop();
  },
});
