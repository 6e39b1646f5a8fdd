/**
 * Socket Mode as Slack speaks it, for the Slack twin: `apps.connections.open` (with an app-level
 * token) answers a single-use loopback WebSocket URL; a connection gets `{type:"hello"}`; each
 * delivery is an envelope `{envelope_id, type, payload, accepts_response_payload}` that the app
 * acknowledges by sending `{envelope_id, payload?}` back; Slack warns before it recycles a
 * connection (`{type:"disconnect", reason:"warning"}`) and then asks for a new one
 * (`reason:"refresh_requested"`). An envelope not acknowledged in time, or whose connection
 * dropped before the acknowledgement, is delivered once more (`retry_attempt: 1`) on a live
 * connection, then given up. Sources: node-slack-sdk `packages/socket-mode` (SocketModeClient's
 * message handling), Slack's Socket Mode documentation.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface EnvelopeRecord {
  envelopeId: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  /** Times it was sent (1, or 2 after a redelivery). */
  deliveries: number;
  /** Acknowledgements received for it (an app acknowledges once). */
  acks: number;
  /** `acked`, `pending` (not yet acknowledged, may still be redelivered) or `given_up`. */
  state: 'pending' | 'acked' | 'given_up';
  /** What the app sent with its acknowledgement (`payload`: e.g. a view_submission's `response_action`). */
  response?: unknown;
}

export interface SocketModeHubOptions {
  appId: string;
  /** The app-level token `apps.connections.open` accepts. */
  appToken: string;
  /** How long an envelope waits for its acknowledgement before it is redelivered. Default 3 000 ms. */
  ackTimeoutMs?: number;
  /** Server pings keep the client's "no ping from Slack" timer quiet. Default 10 000 ms. */
  pingIntervalMs?: number;
  /** Called once per envelope, at its first acknowledgement. */
  onAck?: (record: EnvelopeRecord) => void;
}

export interface SocketModeHub {
  /** Answers `apps.connections.open` for the given token (Slack's errors for a wrong one). */
  open(token: string | undefined, baseWsUrl: string): Record<string, unknown>;
  /** Takes the HTTP upgrade of a `/link/?ticket=…` URL; false for any other path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sends an envelope to a live connection (queued until one opens). */
  deliver(type: EnvelopeType, payload: Record<string, unknown>): EnvelopeRecord;
  /** Every envelope so far (copies). */
  envelopes(): EnvelopeRecord[];
  /** Open connections (hello sent). */
  connections(): number;
  /** `warning` or `refresh_requested` (the client then reconnects), or `link_disabled`. */
  sendDisconnect(reason: 'warning' | 'refresh_requested' | 'link_disabled'): void;
  /** Drops every connection without a close frame (a network failure). */
  drop(): void;
  close(): void;
}

export function createSocketModeHub(options: SocketModeHubOptions): SocketModeHub {
  const ackTimeoutMs = options.ackTimeoutMs ?? 3_000;
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const live = new Set<WebSocket>();
  const records = new Map<string, EnvelopeRecord>();
  /** Envelopes waiting for a connection or for their acknowledgement. */
  const queue: string[] = [];
  const timers = new Map<string, NodeJS.Timeout>();
  /** Which connection an envelope was last sent on (a drop there means it may never have arrived). */
  const sentOn = new Map<string, WebSocket>();
  let closed = false;

  const send = (ws: WebSocket, message: unknown) => ws.send(JSON.stringify(message));

  // A connection being torn down takes nothing new (its envelopes would only come back as retries).
  const pickLive = () => [...live].filter((ws) => ws.readyState === ws.OPEN).at(-1);

  function transmit(id: string): void {
    const record = records.get(id)!;
    const ws = pickLive();
    if (!ws) {
      if (!queue.includes(id)) queue.push(id);
      return;
    }
    record.deliveries += 1;
    sentOn.set(id, ws);
    send(ws, {
      envelope_id: id,
      type: record.type,
      payload: record.payload,
      accepts_response_payload: record.type === 'slash_commands',
      ...(record.deliveries > 1 ? { retry_attempt: record.deliveries - 1, retry_reason: 'timeout' } : {}),
    });
    clearTimeout(timers.get(id));
    timers.set(
      id,
      setTimeout(() => unanswered(id), ackTimeoutMs),
    );
  }

  /** No acknowledgement in time (or its connection died): once more, then given up. */
  function unanswered(id: string): void {
    const record = records.get(id)!;
    timers.delete(id);
    if (record.state !== 'pending' || closed) return;
    if (record.deliveries >= 2) {
      record.state = 'given_up';
      return;
    }
    transmit(id);
  }

  function flush(): void {
    while (queue.length > 0 && pickLive()) transmit(queue.shift()!);
  }

  wss.on('connection', (ws: WebSocket) => {
    live.add(ws);
    send(ws, {
      type: 'hello',
      num_connections: live.size,
      debug_info: { host: 'applink-vyx-twin', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: options.appId },
    });
    const ping = setInterval(() => ws.ping(), options.pingIntervalMs ?? 10_000);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: { envelope_id?: unknown; payload?: unknown };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      const record = typeof msg.envelope_id === 'string' ? records.get(msg.envelope_id) : undefined;
      if (!record) return;
      record.acks += 1;
      if (record.state === 'pending') {
        record.state = 'acked';
        if (msg.payload !== undefined) record.response = msg.payload;
        clearTimeout(timers.get(record.envelopeId));
        timers.delete(record.envelopeId);
        options.onAck?.({ ...record });
      }
    });
    ws.on('close', () => {
      clearInterval(ping);
      live.delete(ws);
      // Envelopes in flight on this connection: their acknowledgement can no longer arrive.
      for (const [id, on] of sentOn) {
        if (on === ws && records.get(id)?.state === 'pending') {
          clearTimeout(timers.get(id));
          timers.delete(id);
          sentOn.delete(id);
          unanswered(id);
        }
      }
    });
    flush();
  });

  return {
    open(token, baseWsUrl) {
      if (!token) return { ok: false, error: 'not_authed' };
      if (token.startsWith('xoxb-') || token.startsWith('xoxp-'))
        return { ok: false, error: 'not_allowed_token_type' };
      if (token !== options.appToken) return { ok: false, error: 'invalid_auth' };
      const ticket = randomBytes(12).toString('hex');
      tickets.add(ticket);
      return { ok: true, url: `${baseWsUrl}/link/?ticket=${ticket}&app_id=${options.appId}` };
    },
    upgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/link/' && url.pathname !== '/link') return false;
      const ticket = url.searchParams.get('ticket') ?? '';
      // Single use, as Slack's: a URL from apps.connections.open opens one connection.
      if (!tickets.delete(ticket) || closed) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\r\n');
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      return true;
    },
    deliver(type, payload) {
      const envelopeId = `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-${randomBytes(6).toString('hex')}`;
      const record: EnvelopeRecord = { envelopeId, type, payload, deliveries: 0, acks: 0, state: 'pending' };
      records.set(envelopeId, record);
      transmit(envelopeId);
      return { ...record };
    },
    envelopes: () => [...records.values()].map((r) => ({ ...r })),
    connections: () => live.size,
    sendDisconnect(reason) {
      for (const ws of live)
        send(ws, { type: 'disconnect', reason, debug_info: { host: 'applink-vyx-twin' } });
    },
    drop() {
      for (const ws of live) ws.terminate();
    },
    close() {
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      for (const ws of live) ws.terminate();
      wss.close();
    },
  };
}
