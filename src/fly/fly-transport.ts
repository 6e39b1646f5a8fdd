/**
 * The Machines API's transport: one HTTP attempt on undici with a deadline, and retries with backoff
 * and jitter for idempotent calls (408/429/5xx, connection errors, `Retry-After`). What a reply
 * means (coded FLY_* errors, answers validated with zod) is fly-reply.ts. The client
 * (machines-client.ts) builds each call on it.
 */
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import {
  abortableSleep,
  flyAuthorization,
  isRetryableTransportError,
  parseRetryAfter,
  type RetryOptions,
  retryDelay,
} from './fly-http.ts';
import {
  type CallSpec,
  isAbort,
  parse,
  parseValue,
  type Reply,
  statusError,
  transportError,
} from './fly-reply.ts';

export interface FlyMachinesClientOptions {
  /** API origin without `/v1`. Default `https://api.machines.dev`. */
  baseUrl?: string;
  /** A Fly token: macaroon (`fm2_…`, `FlyV1 …`) or a personal/OAuth token. Never logged. */
  token: string;
  dispatcher?: Dispatcher;
  /** Default deadline of one call, retries included. Default 30 000 ms. */
  deadlineMs?: number;
  retry?: RetryOptions;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Called after every HTTP attempt (status 0: no answer — connection error or deadline). For metrics. */
  onResponse?: (response: { method: string; route: string; status: number }) => void;
}

/** `/apps/vyx-app/machines/abc/wait` → `/v1/apps/:app/machines/:id/wait` (a label without ids). */
export function flyRouteTemplate(path: string): string {
  return `/v1${path.replace(/^\/apps\/[^/]+/, '/apps/:app').replace(/\/machines\/[^/]+/, '/machines/:id')}`;
}

export interface CallOptions {
  /** Deadline of this call, retries included. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

export type FlyTransport = ReturnType<typeof createFlyTransport>;

export function createFlyTransport(options: FlyMachinesClientOptions) {
  const baseUrl = (options.baseUrl ?? 'https://api.machines.dev').replace(/\/+$/, '');
  const authorization = flyAuthorization(options.token);
  const defaultDeadline = options.deadlineMs ?? 30_000;
  const retry: Required<RetryOptions> = {
    maxAttempts: options.retry?.maxAttempts ?? 5,
    baseDelayMs: options.retry?.baseDelayMs ?? 200,
    maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
  };
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;

  /** One HTTP attempt; throws the transport error (or an AbortError at the deadline). */
  async function send(spec: CallSpec, deadlineAt: number, signal: AbortSignal | undefined): Promise<Reply> {
    const reply = await open(spec, deadlineAt, signal);
    let text: string;
    try {
      text = await reply.body.text();
    } catch (error) {
      reply.report(0);
      throw error;
    }
    reply.report(reply.status);
    return { status: reply.status, headers: reply.headers, text, requestId: reply.requestId };
  }

  /**
   * One HTTP attempt up to the response's head; the body is left to the caller (read it, or
   * `dump()` it), still under the deadline. `report` is called once the body has been read.
   */
  async function open(spec: CallSpec, deadlineAt: number, signal: AbortSignal | undefined) {
    const remaining = deadlineAt - now();
    if (remaining <= 0) throw Object.assign(new Error('deadline passed'), { name: 'AbortError' });
    const timeout = AbortSignal.timeout(remaining);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const query = spec.query?.toString();
    const url = `${baseUrl}/v1${spec.path}${query ? `?${query}` : ''}`;
    const headers: Record<string, string> = {
      authorization,
      accept: 'application/json',
      'user-agent': 'vyxbot',
      ...spec.headers,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    const report = (status: number) =>
      options.onResponse?.({ method: spec.method, route: flyRouteTemplate(spec.path), status });
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, {
        method: spec.method,
        headers,
        body,
        signal: combined,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
    } catch (error) {
      report(0);
      throw error;
    }
    const requestId = response.headers['fly-request-id'];
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      requestId: Array.isArray(requestId) ? requestId[0] : requestId,
      report,
    };
  }

  /**
   * An idempotent call whose 2xx body is streamed: retried like `callIdempotent` until an answer's
   * head is a success (a failure after the body has begun is the caller's to report, not retried:
   * part of it was already read). Other answers are read whole and handled as `callIdempotent` does.
   */
  async function openIdempotent(
    spec: CallSpec,
    call: CallOptions | undefined,
    extra: Record<string, unknown> = {},
    deadlineAt = now() + (call?.deadlineMs ?? defaultDeadline),
  ) {
    for (let attempt = 0; ; attempt++) {
      let opened: Awaited<ReturnType<typeof open>> | undefined;
      let reply: Reply | undefined;
      try {
        opened = await open(spec, deadlineAt, call?.signal);
        if (opened.status >= 200 && opened.status < 300) return { ...opened, attempts: attempt + 1 };
        const text = await opened.body.text();
        opened.report(opened.status);
        reply = { status: opened.status, headers: opened.headers, text, requestId: opened.requestId };
      } catch (error) {
        opened?.report(0);
        if (isAbort(error) || !isRetryableTransportError(error)) {
          throw transportError(spec, error, attempt + 1, extra);
        }
        if (!(await backoff(attempt, undefined, deadlineAt, call?.signal))) {
          throw transportError(spec, error, attempt + 1, extra);
        }
        continue;
      }
      if (!RETRYABLE_STATUS(reply.status) || !(await backoff(attempt, reply, deadlineAt, call?.signal))) {
        throw statusError(spec, reply, attempt + 1, extra);
      }
    }
  }

  /** Sleeps before the next attempt; false when that would pass the deadline. */
  async function backoff(
    attempt: number,
    reply: Reply | undefined,
    deadlineAt: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (attempt + 1 >= retry.maxAttempts) return false;
    const retryAfter = reply ? parseRetryAfter(reply.headers['retry-after'], now()) : undefined;
    const delay = retryDelay(attempt, retry, random, retryAfter);
    if (now() + delay >= deadlineAt - 50) return false;
    await sleep(delay, signal);
    return !signal?.aborted;
  }

  /** An idempotent call: retried on 408/429/5xx and connection errors within the deadline. */
  async function callIdempotent(
    spec: CallSpec,
    call: CallOptions | undefined,
    extra: Record<string, unknown> = {},
    deadlineAt = now() + (call?.deadlineMs ?? defaultDeadline),
  ): Promise<Reply & { attempts: number }> {
    for (let attempt = 0; ; attempt++) {
      let reply: Reply | undefined;
      try {
        reply = await send(spec, deadlineAt, call?.signal);
      } catch (error) {
        if (isAbort(error) || !isRetryableTransportError(error)) {
          throw transportError(spec, error, attempt + 1, extra);
        }
        if (!(await backoff(attempt, undefined, deadlineAt, call?.signal))) {
          throw transportError(spec, error, attempt + 1, extra);
        }
        continue;
      }
      if ((reply.status >= 200 && reply.status < 300) || spec.accept?.includes(reply.status)) {
        return { ...reply, attempts: attempt + 1 };
      }
      if (!RETRYABLE_STATUS(reply.status) || !(await backoff(attempt, reply, deadlineAt, call?.signal))) {
        throw statusError(spec, reply, attempt + 1, extra);
      }
    }
  }

  // The reply readers travel with the transport: the calls built on it take everything from one place.
  return {
    now,
    defaultDeadline,
    send,
    openIdempotent,
    isAbort,
    statusError,
    transportError,
    backoff,
    callIdempotent,
    parse,
    parseValue,
  };
}
