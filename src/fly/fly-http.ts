/**
 * Shared HTTP plumbing for the Fly clients: the Authorization header by token type, coded errors
 * by status, retry delays with jitter and `Retry-After`, and an abortable sleep.
 */
import type { ErrorCode } from '../errors/error-codes.ts';
import { VyxError } from '../errors/vyx-error.ts';

/**
 * The Authorization header for a Fly token (fly-go `tokens.go`): a string already starting with
 * `FlyV1 ` is sent as is; macaroons (`fm1…`, `fm2…`) get `FlyV1 `; anything else is `Bearer`.
 * A configured `Bearer ` prefix is stripped first.
 */
export function flyAuthorization(token: string): string {
  let value = token.trim();
  if (/^bearer /i.test(value)) value = value.slice(7).trim();
  if (value.startsWith('FlyV1 ')) return value;
  if (value.startsWith('fm1') || value.startsWith('fm2')) return `FlyV1 ${value}`;
  return `Bearer ${value}`;
}

/** The token without any scheme prefix (for registry Basic auth, which takes the bare macaroon). */
export function bareFlyToken(token: string): string {
  let value = token.trim();
  if (/^bearer /i.test(value)) value = value.slice(7).trim();
  if (value.startsWith('FlyV1 ')) value = value.slice(6).trim();
  return value;
}

export interface FlyErrorContext {
  method: string;
  path: string;
  status?: number;
  requestId?: string;
  flyError?: string;
  attempts?: number;
  cause?: unknown;
  [key: string]: unknown;
}

/** A coded error for an HTTP status from the Machines API. */
export function flyErrorForStatus(status: number, context: FlyErrorContext): VyxError {
  const { cause, ...details } = context;
  const what = `${context.method} ${context.path}`;
  const said = context.flyError ? `: ${context.flyError}` : '';
  const make = (code: ErrorCode, description: string, suggestion: string) =>
    new VyxError(code, description, { suggestion, details: { ...details, status }, cause });
  if (status === 401) {
    return make(
      'FLY_UNAUTHORIZED',
      `Fly rejected the API token (${status}) for ${what}${said}`,
      'Check that FLY_API_TOKEN is set to a valid, unexpired Fly token (fly tokens create deploy).',
    );
  }
  if (status === 403) {
    return make(
      'FLY_FORBIDDEN',
      `The Fly token may not do ${what} (${status})${said}`,
      'Use a token scoped to this app or organisation (fly tokens create deploy -a <app>).',
    );
  }
  if (status === 404) {
    return make(
      'FLY_NOT_FOUND',
      `Fly has no such app or machine for ${what}${said}`,
      'Check the app name and machine id; a destroyed machine disappears (list with include_deleted to see it).',
    );
  }
  if (status === 408) {
    return make(
      'FLY_TIMEOUT',
      `Fly timed out answering ${what}${said}`,
      'Try again; if it keeps timing out, check https://status.flyio.net.',
    );
  }
  if (status === 409 || status === 412) {
    return make(
      'FLY_CONFLICT',
      `Fly refused ${what} because the machine is in the wrong state or leased (${status})${said}`,
      'Read the machine state (and its lease) and retry the action once it allows it.',
    );
  }
  if (status === 429) {
    return make(
      'FLY_RATE_LIMITED',
      `Fly rate-limited ${what}${said}`,
      'Wait a few seconds and try again; batch calls per app instead of per machine.',
    );
  }
  if (status >= 500) {
    return make(
      'FLY_UNAVAILABLE',
      `Fly answered ${status} for ${what}${said}`,
      'Fly is having trouble; try again shortly and check https://status.flyio.net.',
    );
  }
  return make(
    'FLY_BAD_REQUEST',
    `Fly rejected ${what} as invalid (${status})${said}`,
    'Fix the request (image, region, config) as the error says and try again.',
  );
}

/** A coded error for a failure without an HTTP answer (connection reset, refused, deadline). */
export function flyErrorForTransport(kind: 'timeout' | 'network', context: FlyErrorContext): VyxError {
  const { cause, ...details } = context;
  const what = `${context.method} ${context.path}`;
  if (kind === 'timeout') {
    return new VyxError('FLY_TIMEOUT', `No answer from Fly for ${what} within the deadline`, {
      suggestion: 'Try again; if Fly keeps timing out, check https://status.flyio.net.',
      details,
      cause,
    });
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new VyxError('FLY_UNAVAILABLE', `Could not reach Fly for ${what}: ${reason}`, {
    suggestion: 'Check the network and the Fly API URL, then try again.',
    details,
    cause,
  });
}

/** Seconds or HTTP-date → milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  maxAttempts?: number;
  /** First backoff step. Default 200 ms. */
  baseDelayMs?: number;
  /** Largest backoff step. Default 5 s. */
  maxDelayMs?: number;
}

/** Exponential backoff with full jitter; never shorter than `Retry-After`. */
export function retryDelay(
  attempt: number,
  options: Required<RetryOptions>,
  random: () => number,
  retryAfterMs: number | undefined,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** setTimeout as a promise, ending early (resolving) when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Transport errors worth retrying on an idempotent call (the request may never have arrived). */
export function isRetryableTransportError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  return [
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'UND_ERR_SOCKET',
    'UND_ERR_CLOSED',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
  ].includes(code);
}
