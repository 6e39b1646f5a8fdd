/**
 * The local Slack in one call: the Web API twin (server + transcript), the terminal renderer and
 * the shell receiver, wired together. Start it before constructing the Bolt App: with a `token`,
 * Bolt's constructor calls `auth.test` at once (`tokenVerificationEnabled`, default true), so the
 * twin must already be listening; it answers with `botUserId`/`botId` from `identity`.
 *
 * @example
 * ```ts
 * import { App, LogLevel } from '@slack/bolt';
 * import { createLocalSlack } from './local/slack-twin/create-local-slack.ts';
 *
 * const slack = await createLocalSlack({ dataDir: config.dataDir });   // stdin/stdout by default
 * const app = new App({
 *   token: slack.botToken,
 *   receiver: slack.receiver,
 *   clientOptions: { slackApiUrl: slack.apiUrl },
 *   logLevel: LogLevel.WARN,
 * });
 * app.command('/vyx', async ({ ack, command, client, respond }) => {
 *   await ack();
 *   const root = await client.chat.postMessage({ channel: command.channel_id, text: 'Starting…' });
 *   await client.chat.postMessage({ channel: root.channel!, thread_ts: root.ts!, text: 'created' });
 *   await client.chat.update({ channel: root.channel!, ts: root.ts!, text: 'running' });
 *   await respond('done');
 * });
 * slack.receiver.setSettled(async () => bot.idle(), () => bot.describeWork());
 * await app.start();
 * const outcome = await slack.receiver.finished;   // scripted input: after the work settled
 * await app.stop();
 * await slack.close();
 * process.exitCode = outcome.ok ? 0 : 1;
 * ```
 */
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { RateLimitOptions } from './channel-rate-limiter.ts';
import { ShellReceiver, type ShellReceiverOptions } from './shell-receiver.ts';
import { type SlackApiServer, startSlackApiServer } from './slack-api-server.ts';
import { LOCAL_SLACK_BOT_TOKEN, type SlackIdentity } from './slack-identity.ts';
import { createSlackRenderer, type SlackRenderer } from './slack-renderer.ts';
import type { SlackTranscriptEntry } from './slack-transcript.ts';
import type { SlackChannel } from './slack-workspace.ts';

export interface LocalSlackOptions {
  /** The transcript goes to `<dataDir>/slack-transcript.jsonl` (VYX_DATA_DIR, default `.vyx`). */
  dataDir: string;
  /** Overrides the transcript path; `false` keeps it in memory only. */
  transcriptFile?: string | false;
  /** Append to the transcript file instead of starting it afresh. Default false. */
  appendTranscript?: boolean;
  /** Terminal output (renderer and shell). Default process.stdout. */
  output?: Writable;
  /** Shell input. Default process.stdin. */
  input?: Readable;
  /** Prompt mode (true) or scripted (false). Default: whether `input` is a TTY. */
  interactive?: boolean;
  /** ANSI colour. Default: whether `output` is a TTY. */
  color?: boolean;
  /** Loopback port of the twin; 0 (default) picks a free one. */
  port?: number;
  /** Default `LOCAL_SLACK_BOT_TOKEN`. */
  botToken?: string;
  identity?: Partial<SlackIdentity>;
  /** Channels besides the shell's own (e.g. an alerts channel). */
  channels?: SlackChannel[];
  /** Per-channel chat.postMessage limit (429 + Retry-After); off by default. */
  rateLimit?: RateLimitOptions;
  now?: () => number;
  onEntry?: (entry: SlackTranscriptEntry) => void;
  /** Shell options: settled, describePending, quietMs, timeLimitMs, pollMs, settleBetweenCommands … */
  shell?: Omit<ShellReceiverOptions, 'slack' | 'renderer' | 'input' | 'output' | 'interactive' | 'now'>;
}

export interface LocalSlack {
  /** For `clientOptions.slackApiUrl`. */
  readonly apiUrl: string;
  /** For `new App({ token })`. */
  readonly botToken: string;
  /** What auth.test answers (pass as `botId`/`botUserId` to skip auth.test entirely). */
  readonly botId: string;
  readonly botUserId: string;
  readonly identity: SlackIdentity;
  readonly server: SlackApiServer;
  readonly renderer: SlackRenderer;
  readonly receiver: ShellReceiver;
  /** Where the transcript is written (false: memory only). */
  readonly transcriptFile: string | false;
  transcript(): SlackTranscriptEntry[];
  /** Stops the receiver (if still running), the renderer and the server. */
  close(): Promise<void>;
}

export async function createLocalSlack(options: LocalSlackOptions): Promise<LocalSlack> {
  const transcriptFile =
    options.transcriptFile === undefined
      ? path.join(options.dataDir, 'slack-transcript.jsonl')
      : options.transcriptFile;
  const server = await startSlackApiServer({
    transcriptFile,
    ...(options.appendTranscript ? { appendTranscript: true } : {}),
    botToken: options.botToken ?? LOCAL_SLACK_BOT_TOKEN,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.channels ? { channels: options.channels } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.onEntry ? { onEntry: options.onEntry } : {}),
  });
  const output = options.output ?? process.stdout;
  const renderer = createSlackRenderer({
    workspace: server.workspace,
    identity: server.identity,
    output,
    ...(options.color === undefined ? {} : { color: options.color }),
    ...(options.now ? { now: options.now } : {}),
  });
  const receiver = new ShellReceiver({
    ...options.shell,
    slack: server,
    renderer,
    input: options.input ?? process.stdin,
    output,
    ...(options.interactive === undefined ? {} : { interactive: options.interactive }),
    ...(options.now ? { now: options.now } : {}),
  });
  let closed: Promise<void> | undefined;
  return {
    apiUrl: server.apiUrl,
    botToken: server.botToken,
    botId: server.identity.botId,
    botUserId: server.identity.botUserId,
    identity: server.identity,
    server,
    renderer,
    receiver,
    transcriptFile,
    transcript: () => server.transcript(),
    close() {
      closed ??= (async () => {
        await receiver.stop();
        renderer.close();
        await server.close();
      })();
      return closed;
    },
  };
}
