/**
 * The local Slack Web API: a loopback node:http server that Bolt's WebClient reaches through
 * `clientOptions.slackApiUrl` (`apiUrl`, e.g. `http://127.0.0.1:43123/api/`), plus the
 * response_url endpoints (`POST /response/<id>`) that Bolt's `respond()` posts to.
 *
 * - `POST|GET /api/<method>`: form-encoded or JSON arguments (and the query string), the bot token
 *   as `Authorization: Bearer xoxb-…` (or a `token` argument). Slack's answers: HTTP 200 with
 *   `{ok:true,…}` or `{ok:false,error}`; 429 with `Retry-After` when the optional per-channel rate
 *   limit is on. Methods: see slack-web-methods.ts.
 * - `POST /response/<id>`: JSON `{text, blocks, response_type, replace_original, delete_original,
 *   thread_ts}`; ephemeral by default; each URL works 5 times within 30 minutes, as Slack's do
 *   (response-urls.ts).
 *
 * Every call goes to the transcript (never the token). State is in `workspace`; `activity()` tells
 * the shell whether Slack calls are still coming.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { VyxError } from '../../errors/vyx-error.ts';
import { answerApiCall } from './answer-api-call.ts';
import { createChannelRateLimiter, type RateLimitOptions } from './channel-rate-limiter.ts';
import { type CommandAckShown, showCommandAck } from './command-ack.ts';
import { createInteractionDeliveries, type InteractionDeliveries } from './interaction-deliveries.ts';
import { type AnsweredRequest, createResponseUrls, type ResponseUrlOrigin } from './response-urls.ts';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_IDENTITY, type SlackIdentity } from './slack-identity.ts';
import {
  createSlackTranscript,
  type SlackTranscript,
  type SlackTranscriptEntry,
} from './slack-transcript.ts';
import { createSlackViews, type SlackViews } from './slack-views.ts';
import type { MethodContext, MethodResult } from './slack-web-methods.ts';
import {
  createSlackWorkspace,
  type SlackChannel,
  type SlackMessage,
  type SlackWorkspace,
} from './slack-workspace.ts';
import { createSocketModeHub, type SocketModeHub } from './socket-mode-hub.ts';
import { createViewDeliveries, type ViewDeliveries } from './view-deliveries.ts';

export interface SlackApiServerOptions {
  /** Loopback port; 0 (default) picks a free one. */
  port?: number;
  /** The bot token accepted. Default `LOCAL_SLACK_BOT_TOKEN`. */
  botToken?: string;
  /** Workspace, user, channel and bot ids. Default `LOCAL_SLACK_IDENTITY`. */
  identity?: Partial<SlackIdentity>;
  /** Channels besides the identity's own. */
  channels?: SlackChannel[];
  /** The JSONL transcript file, or `false` for memory only. Required: pass `<dataDir>/slack-transcript.jsonl`. */
  transcriptFile: string | false;
  /** Append to an existing transcript file instead of starting it afresh. Default false. */
  appendTranscript?: boolean;
  /** Per-channel rate limit on chat.postMessage; off when undefined. */
  rateLimit?: RateLimitOptions;
  /** Clock for ts values, rate limits, response_url expiry and the transcript. Default Date.now. */
  now?: () => number;
  /** Called after each transcript entry (the renderer does not need it; tests may). */
  onEntry?: (entry: SlackTranscriptEntry) => void;
  /** Socket Mode: the app-level token `apps.connections.open` accepts (off when undefined). */
  appToken?: string;
  /** Socket Mode: how long an envelope waits for its acknowledgement before one redelivery. */
  ackTimeoutMs?: number;
  /** Other routes (the twin's own control endpoints, `npm run twin:slack`); undefined: not theirs. */
  extraRoutes?: (req: IncomingMessage, url: URL) => Promise<MethodResult> | undefined;
}

export interface SlackApiActivity {
  /** Web API and response_url requests being answered right now. */
  inFlight: number;
  /** Clock time the last request finished (or started, while one is in flight); undefined before any. */
  lastCallAt: number | undefined;
  /** Requests answered so far. */
  calls: number;
}

/**
 * Also the people's side of views (`app_home_opened`, `view_submission`: see view-deliveries.ts)
 * and of commands and buttons (interaction-deliveries.ts).
 */
export interface SlackApiServer extends Omit<ViewDeliveries, 'acked'>, InteractionDeliveries {
  /** `http://127.0.0.1:<port>/api/`: give it to Bolt as `clientOptions.slackApiUrl`. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  readonly port: number;
  readonly botToken: string;
  readonly identity: SlackIdentity;
  readonly workspace: SlackWorkspace;
  readonly transcriptFile: string | false;
  /** A new response_url (`<baseUrl>/response/<id>`) for a delivery. */
  createResponseUrl(origin: ResponseUrlOrigin): string;
  /** Records a delivery or ack (the shell receiver uses it) in the transcript. */
  record(entry: Omit<SlackTranscriptEntry, 'seq' | 'time'>): SlackTranscriptEntry;
  /** Every call so far (copies). */
  transcript(): SlackTranscriptEntry[];
  /** Top-level messages of a channel (id or name), oldest first. */
  messages(channel?: string): SlackMessage[];
  /** A parent and its replies. */
  thread(channel: string, ts: string): SlackMessage[];
  find(predicate: (message: SlackMessage) => boolean): SlackMessage[];
  activity(): SlackApiActivity;
  /** Socket Mode (with `appToken`): connections, envelopes, disconnects. */
  readonly socketMode: SocketModeHub | undefined;
  /**
   * What the app answered a command's HTTP delivery with (the 200's body), shown as Slack shows it;
   * Socket Mode acks and the shell's are shown without being asked.
   */
  commandAck(where: { channel: string; user: string }, response: unknown): CommandAckShown;
  /** Home tabs, modals, trigger ids (`views.*`). */
  readonly views: SlackViews;
  close(): Promise<void>;
}

export async function startSlackApiServer(options: SlackApiServerOptions): Promise<SlackApiServer> {
  const now = options.now ?? Date.now;
  const identity: SlackIdentity = { ...LOCAL_SLACK_IDENTITY, ...options.identity };
  const botToken = options.botToken ?? LOCAL_SLACK_BOT_TOKEN;
  const workspace = createSlackWorkspace({
    now,
    channels: [{ id: identity.channelId, name: identity.channelName }, ...(options.channels ?? [])],
  });
  const transcript: SlackTranscript = createSlackTranscript({
    file: options.transcriptFile,
    append: options.appendTranscript ?? false,
    now,
  });
  let idCounter = 0;
  const nextId = () => `b${(++idCounter).toString(36).padStart(4, '0')}`;
  const views = createSlackViews({ identity, now, nextId });
  const ctx: MethodContext = {
    workspace,
    identity,
    nextId,
    views,
    rateLimiter: options.rateLimit ? createChannelRateLimiter(options.rateLimit, now) : undefined,
  };
  const responseUrls = createResponseUrls({ workspace, identity, now, nextId });
  const activity: SlackApiActivity = { inFlight: 0, lastCallAt: undefined, calls: 0 };

  const record = (entry: Omit<SlackTranscriptEntry, 'seq' | 'time'> & { time?: string }) => {
    const written = transcript.append(entry);
    options.onEntry?.(written);
    return written;
  };

  const send = (res: ServerResponse, result: MethodResult) => {
    res.writeHead(result.status, { 'content-type': 'application/json; charset=utf-8', ...result.headers });
    res.end(JSON.stringify(result.body));
  };

  const handleApi = (req: IncomingMessage, url: URL, method: string) =>
    answerApiCall(req, url, method, { botToken, ctx, hub, socketUrl: `ws://127.0.0.1:${port}` });

  let port = 0;
  const server = createServer((req, res) => {
    const started = now();
    activity.inFlight += 1;
    activity.lastCallAt = started;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    const responseMatch = /^\/response\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    const work = apiMatch
      ? handleApi(req, url, apiMatch[1]!)
      : responseMatch && req.method === 'POST'
        ? responseUrls.answer(req, responseMatch[1]!)
        : (options.extraRoutes?.(req, url) ??
          Promise.resolve({ status: 404, body: { ok: false, error: 'not_found' } } as MethodResult));
    work
      .then((result) => {
        if (apiMatch || responseMatch) {
          const { entry, ...answer } = result as AnsweredRequest;
          record({
            time: new Date(started).toISOString(),
            kind: apiMatch ? 'api' : 'response_url',
            method: apiMatch ? apiMatch[1]! : 'response_url',
            args: entry?.args ?? {},
            ...(entry?.encoding ? { encoding: entry.encoding } : {}),
            status: answer.status,
            response: answer.body,
            durationMs: now() - started,
          });
        }
        send(res, result);
      })
      .catch((error: unknown) => {
        send(res, { status: 500, body: { ok: false, error: 'internal_error', detail: String(error) } });
      })
      .finally(() => {
        activity.inFlight -= 1;
        activity.calls += 1;
        activity.lastCallAt = now();
      });
  });
  const hub = options.appToken
    ? createSocketModeHub({
        appId: identity.appId,
        appToken: options.appToken,
        onAck: (record) => {
          if (record.type === 'slash_commands') {
            const p = record.payload as { channel_id?: string; user_id?: string };
            const where = { channel: p.channel_id ?? identity.channelId, user: p.user_id ?? identity.userId };
            showCommandAck(workspace, identity, where, record.response);
          }
          viewDeliveries.acked(record);
        },
        ...(options.ackTimeoutMs ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
      })
    : undefined;
  server.on('upgrade', (req, socket, head) => {
    if (!hub?.upgrade(req, socket as Socket, head)) socket.destroy();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new VyxError('SLACK_TWIN_LISTEN_FAILED', `the Slack twin could not listen: ${error.message}`, {
          suggestion: 'Choose another port for the Slack twin, or 0 for a free one.',
          details: { port: options.port ?? 0 },
          cause: error,
        }),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const createResponseUrl = (origin: ResponseUrlOrigin) => {
    return `${baseUrl}/response/${responseUrls.register(origin)}`;
  };
  const needHub = () => {
    if (!hub) throw new Error('Socket Mode is off: start the Slack twin with an appToken');
    return hub;
  };
  const viewDeliveries = createViewDeliveries({ identity, views, now, hub: needHub });
  const interactions = createInteractionDeliveries({
    identity,
    workspace,
    views,
    createResponseUrl,
    hub: needHub,
  });
  let closed: Promise<void> | undefined;

  return {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    port,
    botToken,
    identity,
    workspace,
    transcriptFile: options.transcriptFile,
    createResponseUrl,
    socketMode: hub,
    command: interactions.command,
    commandAck: (where, response) => showCommandAck(workspace, identity, where, response),
    pressButton: interactions.pressButton,
    views,
    homeOpenedBody: viewDeliveries.homeOpenedBody,
    viewSubmissionBody: viewDeliveries.viewSubmissionBody,
    openHome: viewDeliveries.openHome,
    submitView: viewDeliveries.submitView,
    record,
    transcript: () => transcript.entries(),
    messages(channel) {
      const c = workspace.resolveChannel(channel ?? identity.channelId);
      return c ? workspace.messages(c.id) : [];
    },
    thread(channel, ts) {
      const c = workspace.resolveChannel(channel);
      return c ? workspace.thread(c.id, ts) : [];
    },
    find: (predicate) => workspace.find(predicate),
    activity: () => ({ ...activity }),
    close() {
      closed ??= new Promise<void>((resolve) => {
        hub?.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
