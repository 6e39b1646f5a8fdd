import type { webApi } from '@slack/bolt';
import { VyxError } from '../errors/vyx-error.ts';
import type { Logger } from '../logger.ts';
import { SLACK_TRANSIENT_ERRORS } from '../slack/slack-errors.ts';

/** The Socket Mode client as Bolt's SocketModeReceiver holds it (`receiver.client`). */
export interface SocketClient {
  start(): Promise<unknown>;
  disconnect(): Promise<void>;
  on(event: 'disconnected', listener: () => void): unknown;
}

export type SlackLinkState = 'connecting' | 'connected' | 'unreachable' | 'reconnecting' | 'stopped';

export interface SlackIds {
  botId?: string;
  botUserId?: string;
  teamId?: string;
}

export interface SlackLinkOptions {
  /** `auth.test` with the bot token, one attempt, a short timeout. */
  probe: webApi.WebClient;
  /** Socket Mode: the connection to open (and reopen). */
  socket?: SocketClient;
  logger: Logger;
  /** First retry delay; doubles up to `maxBackoffMs`. Defaults 1 000 and 30 000 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface SlackLink {
  readonly state: SlackLinkState;
  /** Why Slack is not usable right now (for readiness and the log). */
  readonly reason: string | undefined;
  /** What auth.test said about the bot (known once connected). */
  readonly ids: SlackIds;
  /**
   * Checks the credentials (`auth.test`, then in Socket Mode `apps.connections.open`), retrying
   * with backoff while Slack cannot be reached. Resolves once connected; rejects only with a
   * credential error (`SLACK_CREDENTIALS_INVALID`: one line naming the variable and Slack's error).
   */
  connect(): Promise<void>;
  /** Readiness: throws, saying why, unless connected. */
  check(): Promise<void>;
  stop(): Promise<void>;
}

/** Slack's own error code when it answered `ok:false` (a platform error), else undefined. */
export function platformError(err: unknown): string | undefined {
  const e = err as { code?: unknown; data?: { error?: unknown } } | undefined;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string'
    ? e.data.error
    : undefined;
}

function unreachableReason(err: unknown): string {
  const slack = platformError(err);
  if (slack) return `Slack answered ${slack}`;
  // web-api wraps fetch's TypeError('fetch failed'), which wraps the socket error: name the deepest.
  let e = err as { original?: unknown; cause?: unknown; code?: unknown; message?: unknown } | undefined;
  let best = String(e?.message ?? err);
  for (let i = 0; e && i < 6; i++) {
    if (typeof e.code === 'string' && /^(E[A-Z]+|UND_ERR\w*)$/.test(e.code)) {
      best = `${e.code}${typeof e.message === 'string' && !e.message.includes(e.code) ? `: ${e.message}` : ''}`;
    }
    e = (e.original ?? e.cause) as typeof e;
  }
  return best.slice(0, 200);
}

function credentialError(variable: string, method: string, slackError: string): VyxError {
  const hint: Record<string, string> = {
    invalid_auth: 'the token is not valid for any workspace',
    not_authed: 'no token reached Slack',
    account_inactive: 'the app or its user was deactivated',
    token_revoked: 'the token was revoked (reinstall the app)',
    token_expired: 'the token expired (token rotation is on: use a bot token without rotation)',
    not_allowed_token_type: 'this kind of token is not accepted here',
  };
  return new VyxError(
    'SLACK_CREDENTIALS_INVALID',
    `${variable} was refused by Slack: ${method} answered ${slackError}${hint[slackError] ? ` (${hint[slackError]})` : ''}`,
    {
      suggestion:
        variable === 'SLACK_APP_TOKEN'
          ? 'Create an app-level token with connections:write (Basic Information → App-Level Tokens) and set SLACK_APP_TOKEN to it.'
          : "Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (OAuth & Permissions, xoxb-…).",
      details: { variable, method, slackError },
    },
  );
}

/**
 * The bot's link to Slack: credentials checked at start-up, and in Socket Mode the connection
 * reopened with backoff whenever it drops. Each change of state is one log line.
 */
export function createSlackLink(o: SlackLinkOptions): SlackLink {
  const first = o.backoffMs ?? 1_000;
  const max = o.maxBackoffMs ?? 30_000;
  let state: SlackLinkState = 'connecting';
  let reason: string | undefined = 'not connected yet';
  let ids: SlackIds = {};
  let stopped = false;
  let reopening: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const setState = (next: SlackLinkState, why?: string, retryMs?: number) => {
    const changed = next !== state || (why !== undefined && why !== reason);
    state = next;
    reason = next === 'connected' ? undefined : why;
    if (!changed) return;
    const line =
      next === 'connected'
        ? `Slack: connected${o.socket ? ' (Socket Mode)' : ''}`
        : `Slack: ${next}${why ? ` — ${why}` : ''}${retryMs ? `; retrying with backoff (next in ${Math.round(retryMs / 1000)} s)` : ''}`;
    (next === 'connected' || next === 'connecting' ? o.logger.info : o.logger.warn).call(
      o.logger,
      { slack: next, ...(why ? { why } : {}) },
      line,
    );
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function authTest(): Promise<SlackIds> {
    const r = await o.probe.auth.test();
    return {
      ...(r.bot_id ? { botId: r.bot_id } : {}),
      ...(r.user_id ? { botUserId: r.user_id } : {}),
      ...(r.team_id ? { teamId: r.team_id } : {}),
    };
  }

  /** One attempt; undefined when connected, else the delay-worthy reason. Credential errors throw. */
  async function attempt(withAuth: boolean): Promise<string | undefined> {
    if (withAuth) {
      try {
        ids = await authTest();
      } catch (err) {
        const code = platformError(err);
        if (code && !SLACK_TRANSIENT_ERRORS.has(code))
          throw credentialError('SLACK_BOT_TOKEN', 'auth.test', code);
        return `Web API unreachable (${unreachableReason(err)})`;
      }
    }
    if (o.socket) {
      try {
        await o.socket.start();
      } catch (err) {
        const code = platformError(err);
        if (code && !SLACK_TRANSIENT_ERRORS.has(code))
          throw credentialError('SLACK_APP_TOKEN', 'apps.connections.open', code);
        return `Socket Mode connection failed (${unreachableReason(err)})`;
      }
    }
    return undefined;
  }

  async function loop(withAuth: boolean, retrying: SlackLinkState): Promise<void> {
    for (let delay = first; !stopped; delay = Math.min(delay * 2, max)) {
      const why = await attempt(withAuth);
      if (stopped) return;
      if (why === undefined) {
        setState('connected');
        return;
      }
      setState(retrying, why, delay);
      await sleep(delay);
    }
  }

  o.socket?.on('disconnected', () => {
    if (stopped || state !== 'connected' || reopening) return;
    setState('reconnecting', 'the Socket Mode connection closed');
    reopening = loop(false, 'reconnecting')
      .catch((err: unknown) => {
        // A token revoked while running: say so once, keep serving health, never loop fast.
        setState('unreachable', err instanceof VyxError ? err.toLine() : String(err));
        o.logger.error({ err: String((err as Error)?.message ?? err) }, 'Slack refused the app token');
      })
      .finally(() => {
        reopening = undefined;
      });
  });

  return {
    get state() {
      return state;
    },
    get reason() {
      return reason;
    },
    get ids() {
      return ids;
    },
    async connect() {
      o.logger.info({ slack: 'connecting' }, 'Slack: checking the credentials');
      await loop(true, 'unreachable');
    },
    async check() {
      if (state !== 'connected') throw new Error(`${state}: ${reason ?? 'not connected'}`);
      await authTest();
    },
    async stop() {
      stopped = true;
      wake?.();
      state = 'stopped';
      await o.socket?.disconnect().catch(() => {});
      await reopening;
    },
  };
}
