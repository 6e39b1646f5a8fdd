/**
 * A Machines API call and Fly's reply to it, and what a reply means: a coded FLY_* error for a
 * failed attempt, or the body validated with zod. Pure functions, so the transport (fly-transport.ts)
 * and the calls built on it share them.
 */
import type { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';
import { flyErrorForStatus, flyErrorForTransport } from './fly-http.ts';
import { ErrorBodySchema } from './fly-types.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  requestId: string | undefined;
}

export interface CallSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  /** Statuses handed back to the caller instead of being retried or thrown. */
  accept?: number[];
  /** Extra request headers (e.g. `fly-machine-lease-nonce`). */
  headers?: Record<string, string>;
}

export function isAbort(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  const code = (error as { code?: string } | undefined)?.code;
  return name === 'AbortError' || name === 'TimeoutError' || code === 'UND_ERR_ABORTED';
}

function flyErrorText(text: string): string | undefined {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data.error ?? parsed.data.message ?? undefined;
  } catch {
    // not JSON: Fly's proxy answers plain text (e.g. "404 page not found")
  }
  const trimmed = text.trim().slice(0, 200);
  return trimmed === '' ? undefined : trimmed;
}

export function statusError(spec: CallSpec, reply: Reply, attempts: number, extra: Record<string, unknown>) {
  return flyErrorForStatus(reply.status, {
    method: spec.method,
    path: spec.path,
    requestId: reply.requestId,
    flyError: flyErrorText(reply.text),
    attempts,
    ...extra,
  });
}

export function transportError(
  spec: CallSpec,
  error: unknown,
  attempts: number,
  extra: Record<string, unknown>,
) {
  if (error instanceof VyxError) return error;
  return flyErrorForTransport(isAbort(error) ? 'timeout' : 'network', {
    method: spec.method,
    path: spec.path,
    attempts,
    cause: error,
    ...extra,
  });
}

export function parse<T extends z.ZodType>(schema: T, reply: Reply, spec: CallSpec): z.output<T> {
  let json: unknown;
  try {
    json = reply.text === '' ? {} : JSON.parse(reply.text);
  } catch (cause) {
    throw new VyxError(
      'FLY_UNAVAILABLE',
      `Fly answered ${spec.method} ${spec.path} with a body that is not JSON`,
      {
        suggestion: 'Check that the Fly API URL points at the Machines API, then try again.',
        details: { status: reply.status, requestId: reply.requestId },
        cause,
      },
    );
  }
  return parseValue(schema, json, reply, spec);
}

/** Validates an answer (or one element of it) already read as JSON. */
export function parseValue<T extends z.ZodType>(
  schema: T,
  json: unknown,
  reply: Pick<Reply, 'status' | 'requestId'>,
  spec: CallSpec,
): z.output<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new VyxError(
      'FLY_UNAVAILABLE',
      `Fly's answer to ${spec.method} ${spec.path} has an unexpected shape`,
      {
        suggestion: 'The Fly API may have changed; report this with the request id.',
        details: {
          status: reply.status,
          requestId: reply.requestId,
          issues: parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.')}: ${issue.message}`),
        },
      },
    );
  }
  return parsed.data;
}
