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
 *   thread_ts}`; ephemeral by default; each URL works 5 times within 30 minutes, as Slack's do.
 *
 * Every call goes to the transcript (never the token). State is in `workspace`; `activity()` tells
 * the shell whether Slack calls are still coming.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { VyxError } from '../../errors/vyx-error.ts';
import { createChannelRateLimiter, type RateLimitOptions } from './channel-rate-limiter.ts';
import { parseApiRequest, readBody } from './request-body.ts';
import { LOCAL_SLACK_BOT_TOKEN, LOCAL_SLACK_IDENTITY, type SlackIdentity } from './slack-identity.ts';
import {
  createSlackTranscript,
  type SlackTranscript,
  type SlackTranscriptEntry,
} from './slack-transcript.ts';
import {
  handleWebApiMethod,
  type MethodContext,
  type MethodResult,
  readContent,
} from './slack-web-methods.ts';
import {
  createSlackWorkspace,
  type SlackChannel,
  type SlackMessage,
  type SlackWorkspace,
  WorkspaceError,
} from './slack-workspace.ts';
import { createSocketModeHub, type EnvelopeRecord, type SocketModeHub } from './socket-mode-hub.ts';
import { blockActionsPayload, slashCommandPayload } from './socket-mode-payloads.ts';

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

/** A slash command or a button press as a person would make it (Socket Mode delivery). */
export interface TwinCommand {
  text: string;
  user?: string;
  channel?: string;
}
export interface TwinButton {
  actionId: string;
  value: string;
  /** The message holding the button. */
  channel: string;
  messageTs: string;
  user?: string;
}

/** What a response_url acts on. */
export type ResponseUrlOrigin =
  /** A slash command: replace_original acts on the last ephemeral this URL posted. */
  | { kind: 'command'; channel: string; user: string }
  /** A button on a channel message. */
  | { kind: 'message'; channel: string; user: string; ts: string }
  /** A button on an ephemeral message. */
  | { kind: 'ephemeral'; channel: string; user: string; id: string };

export interface SlackApiActivity {
  /** Web API and response_url requests being answered right now. */
  inFlight: number;
  /** Clock time the last request finished (or started, while one is in flight); undefined before any. */
  lastCallAt: number | undefined;
  /** Requests answered so far. */
  calls: number;
}

export interface SlackApiServer {
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
  /** Delivers `/vyx <text>` over Socket Mode, as Slack does when a person types it. */
  command(c: TwinCommand): EnvelopeRecord;
  /** Delivers a `block_actions` press of a button over Socket Mode. */
  pressButton(b: TwinButton): EnvelopeRecord;
  close(): Promise<void>;
}

interface ResponseUrlState {
  origin: ResponseUrlOrigin;
  createdAt: number;
  uses: number;
  /** For command URLs: the last ephemeral posted through it. */
  lastEphemeral: string | undefined;
}

const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

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
  const ctx: MethodContext = {
    workspace,
    identity,
    nextId,
    rateLimiter: options.rateLimit ? createChannelRateLimiter(options.rateLimit, now) : undefined,
  };
  const responseUrls = new Map<string, ResponseUrlState>();
  let responseCounter = 0;
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

  const handleApi = async (
    req: IncomingMessage,
    url: URL,
    method: string,
  ): Promise<MethodResult & { entry?: Partial<SlackTranscriptEntry> }> => {
    const raw = await readBody(req);
    const parsed = parseApiRequest(req, raw, url);
    const args = decodeForTranscript(parsed.args);
    const base = { encoding: parsed.encoding, args };
    if (parsed.malformed) return { ...failure(parsed.malformed), entry: base };
    if (method === 'apps.connections.open') {
      if (!hub) return { ...failure('unknown_method'), entry: base };
      return { status: 200, body: hub.open(parsed.token, `ws://127.0.0.1:${port}`), entry: base };
    }
    if (parsed.token === undefined || parsed.token === '') return { ...failure('not_authed'), entry: base };
    if (parsed.token !== botToken) return { ...failure('invalid_auth'), entry: base };
    return { ...handleWebApiMethod(method, parsed.args, ctx), entry: base };
  };

  const handleResponseUrl = async (
    req: IncomingMessage,
    id: string,
  ): Promise<MethodResult & { entry?: Partial<SlackTranscriptEntry> }> => {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
      else return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    } catch {
      return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    }
    const entry = { args: decodeForTranscript(body), encoding: 'json' as const };
    const state = responseUrls.get(id);
    if (!state || now() - state.createdAt > RESPONSE_URL_TTL_MS)
      return { status: 404, body: { ok: false, error: 'expired_url' }, entry };
    if (state.uses >= RESPONSE_URL_USES)
      return { status: 404, body: { ok: false, error: 'used_url' }, entry };
    state.uses += 1;
    return { ...respondTo(state, body), entry };
  };

  const respondTo = (state: ResponseUrlState, body: Record<string, unknown>): MethodResult => {
    const { origin } = state;
    const replace = body.replace_original === true || body.replace_original === 'true';
    const del = body.delete_original === true || body.delete_original === 'true';
    try {
      if (del) {
        if (origin.kind === 'message') workspace.delete(origin.channel, origin.ts);
        else if (origin.kind === 'ephemeral') workspace.deleteEphemeral(origin.id);
        else if (state.lastEphemeral) workspace.deleteEphemeral(state.lastEphemeral);
        else return { status: 404, body: { ok: false, error: 'message_not_found' } };
        return { status: 200, body: { ok: true } };
      }
      const content = readContent(body, nextId);
      if (!content.ok) return { ...content.result, status: 400 };
      if ((content.text ?? '') === '' && !content.blocks?.length)
        return { status: 400, body: { ok: false, error: 'no_text' } };
      const text = content.text ?? '';
      if (replace) {
        if (origin.kind === 'message') {
          workspace.update(origin.channel, origin.ts, { text, blocks: content.blocks ?? [] }, 'response_url');
          return { status: 200, body: { ok: true } };
        }
        const target = origin.kind === 'ephemeral' ? origin.id : state.lastEphemeral;
        if (target && workspace.ephemeral(target) && !workspace.ephemeral(target)?.deleted) {
          workspace.replaceEphemeral(target, { text, ...(content.blocks ? { blocks: content.blocks } : {}) });
          return { status: 200, body: { ok: true } };
        }
      }
      const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
      if (body.response_type === 'in_channel') {
        workspace.post({
          channel: origin.channel,
          user: identity.botUserId,
          bot_id: identity.botId,
          app_id: identity.appId,
          team: identity.teamId,
          text,
          ...(content.blocks ? { blocks: content.blocks } : {}),
          ...(threadTs && workspace.message(origin.channel, threadTs) ? { thread_ts: threadTs } : {}),
        });
      } else {
        const posted = workspace.postEphemeral({
          channel: origin.channel,
          user: origin.user,
          text,
          ...(content.blocks ? { blocks: content.blocks } : {}),
          via: 'response_url',
        });
        state.lastEphemeral = posted.id;
      }
      return { status: 200, body: { ok: true } };
    } catch (e) {
      if (e instanceof WorkspaceError) return { status: 404, body: { ok: false, error: e.slackError } };
      throw e;
    }
  };

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
        ? handleResponseUrl(req, responseMatch[1]!)
        : (options.extraRoutes?.(req, url) ??
          Promise.resolve({ status: 404, body: { ok: false, error: 'not_found' } } as MethodResult));
    work
      .then((result) => {
        if (apiMatch || responseMatch) {
          const { entry, ...answer } = result as MethodResult & { entry?: Partial<SlackTranscriptEntry> };
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
    const id = `R${(++responseCounter).toString().padStart(4, '0')}${Math.random().toString(36).slice(2, 8)}`;
    responseUrls.set(id, { origin, createdAt: now(), uses: 0, lastEphemeral: undefined });
    return `${baseUrl}/response/${id}`;
  };
  const needHub = () => {
    if (!hub) throw new Error('Socket Mode is off: start the Slack twin with an appToken');
    return hub;
  };
  const trigger = () => `${Date.now()}.${randomBytes(4).toString('hex')}`;
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
    command(c) {
      const user = c.user ?? identity.userId;
      const channel = workspace.resolveChannel(c.channel ?? identity.channelId);
      const channelId = channel?.id ?? c.channel ?? identity.channelId;
      return needHub().deliver(
        'slash_commands',
        slashCommandPayload(identity, {
          text: c.text,
          user,
          channel: { id: channelId, name: channel?.name ?? 'unknown' },
          responseUrl: createResponseUrl({ kind: 'command', channel: channelId, user }),
          triggerId: trigger(),
        }),
      );
    },
    pressButton(b) {
      const user = b.user ?? identity.userId;
      return needHub().deliver(
        'interactive',
        blockActionsPayload(identity, {
          ...b,
          user,
          channelName: workspace.resolveChannel(b.channel)?.name ?? 'unknown',
          message: workspace.message(b.channel, b.messageTs),
          responseUrl: createResponseUrl({ kind: 'message', channel: b.channel, user, ts: b.messageTs }),
          triggerId: trigger(),
        }),
      );
    },
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

function failure(error: string): MethodResult {
  return { status: 200, body: { ok: false, error } };
}

/** Arguments for the transcript: JSON-string blocks/attachments/metadata decoded for readability. */
function decodeForTranscript(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...args };
  for (const key of ['blocks', 'attachments', 'metadata']) {
    const v = out[key];
    if (typeof v === 'string') {
      try {
        out[key] = JSON.parse(v);
      } catch {
        // left as sent: the method answers invalid_blocks_format
      }
    }
  }
  return out;
}
