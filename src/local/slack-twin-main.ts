/**
 * `npm run twin:slack`: the Slack twin alone — the Web API, Socket Mode (`apps.connections.open`
 * and its WebSocket), the response_url endpoints and the transcript — for a bot started apart and
 * pointed at it (`SLACK_API_URL`, `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`). The conversation is
 * printed here; `POST /_twin/command {"text":"start"}` types `/vyx start` as the local user.
 *
 *   SLACK_LOCAL_PORT  port on 127.0.0.1 (default 3100; 0 picks a free one)
 *   SLACK_BOT_TOKEN   the bot token accepted (default: a generated xoxb- token, printed)
 *   SLACK_APP_TOKEN   the app-level token accepted (default: a generated xapp- token, printed)
 *   VYX_DATA_DIR      the transcript goes to <VYX_DATA_DIR>/slack-twin-transcript.jsonl (default .vyx)
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isVyxError } from '../errors/vyx-error.ts';
import { portError } from '../observability/health.ts';
import { type SlackApiServer, startSlackApiServer } from './slack-twin/slack-api-server.ts';
import { createSlackRenderer } from './slack-twin/slack-renderer.ts';
import { twinControl } from './slack-twin/twin-control.ts';

const port = Number(process.env.SLACK_LOCAL_PORT ?? 3100);
const botToken = process.env.SLACK_BOT_TOKEN || `xoxb-local-${randomBytes(12).toString('hex')}`;
const appToken = process.env.SLACK_APP_TOKEN || `xapp-local-${randomBytes(12).toString('hex')}`;
const transcriptFile = join(process.env.VYX_DATA_DIR || '.vyx', 'slack-twin-transcript.jsonl');

let twin: SlackApiServer | undefined;
try {
  twin = await startSlackApiServer({
    port,
    botToken,
    appToken,
    transcriptFile,
    extraRoutes: twinControl(() => twin!),
  });
} catch (err) {
  const line = isVyxError(err) ? portError(err.cause, 'SLACK_LOCAL_PORT', port).toLine() : String(err);
  process.stderr.write(`${line}\n`);
  process.exit(1);
}
const renderer = createSlackRenderer({ workspace: twin.workspace, identity: twin.identity });
process.stdout.write(
  [
    `Slack twin listening on ${twin.baseUrl}`,
    `  SLACK_API_URL=${twin.apiUrl}`,
    `  SLACK_BOT_TOKEN=${process.env.SLACK_BOT_TOKEN ? '(from the environment)' : botToken}`,
    `  SLACK_APP_TOKEN=${process.env.SLACK_APP_TOKEN ? '(from the environment)' : appToken}`,
    `  channel: #${twin.identity.channelName} (${twin.identity.channelId}); you are ${twin.identity.userId}`,
    `  transcript: ${transcriptFile}`,
    `  type a command: curl -s -X POST ${twin.baseUrl}/_twin/command -d '{"text":"help"}'`,
    '',
  ].join('\n'),
);
const stop = () => {
  renderer.close();
  void twin!.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
