/**
 * Fly's logs endpoint (`GET https://api.fly.io/api/v1/apps/{app}/logs?instance=…&next_token=…`, the
 * one `fly logs` polls): a machine's stdout/stderr as a JSON:API document. Not officially supported
 * for outside use, so it is evidence, never a dependency: one attempt with a short deadline, and
 * any failure is a FLY_LOGS_UNAVAILABLE error the caller reports and carries on without.
 */
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';
import { flyAuthorization } from './fly-http.ts';

/** The logs host, separate from the Machines API's `api.machines.dev`. */
export const FLY_LOGS_DEFAULT = 'https://api.fly.io';

const LogEntrySchema = z.object({
  id: z.string().optional(),
  attributes: z.object({
    timestamp: z.string(),
    message: z.string(),
    level: z.string().optional(),
    instance: z.string().optional(),
    region: z.string().optional(),
  }),
});
const LogPageSchema = z.object({
  data: z.array(LogEntrySchema),
  meta: z.object({ next_token: z.string().optional() }).optional(),
});

export interface LogLine {
  timestamp: string;
  message: string;
  level?: string;
  instance?: string;
}

export interface LogPage {
  lines: LogLine[];
  /** Cursor for lines after these (nanosecond Unix time); undefined when Fly gave none. */
  nextToken?: string;
}

export interface FlyLogsClient {
  /** The newest lines of one machine (Fly: the last 100 of 24 h), or those after `nextToken`. */
  machineLogs(
    app: string,
    machineId: string,
    options?: { nextToken?: string; signal?: AbortSignal },
  ): Promise<LogPage>;
}

export interface FlyLogsClientOptions {
  /** Origin of the logs API. Default `https://api.fly.io`. */
  baseUrl?: string;
  token: string;
  dispatcher?: Dispatcher;
  /** Deadline of one call. Default 5 000 ms: the card is not held back long for logs. */
  deadlineMs?: number;
}

export function createFlyLogsClient(options: FlyLogsClientOptions): FlyLogsClient {
  const baseUrl = (options.baseUrl ?? FLY_LOGS_DEFAULT).replace(/\/+$/, '');
  const authorization = flyAuthorization(options.token);
  const deadlineMs = options.deadlineMs ?? 5_000;
  const unavailable = (app: string, why: string, cause?: unknown) =>
    new VyxError('FLY_LOGS_UNAVAILABLE', `Fly's logs endpoint did not answer for ${app}: ${why}`, {
      suggestion: 'Read them with fly logs -a <app> -i <machine id>; the diagnosis stands without them.',
      ...(cause === undefined ? {} : { cause }),
    });

  return {
    async machineLogs(app, machineId, call = {}) {
      const query = new URLSearchParams({ instance: machineId });
      if (call.nextToken) query.set('next_token', call.nextToken);
      const url = `${baseUrl}/api/v1/apps/${encodeURIComponent(app)}/logs?${query}`;
      const timeout = AbortSignal.timeout(deadlineMs);
      let status: number;
      let text: string;
      try {
        const response = await request(url, {
          method: 'GET',
          headers: { authorization, accept: 'application/json', 'user-agent': 'vyxbot' },
          signal: call.signal ? AbortSignal.any([timeout, call.signal]) : timeout,
          ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        });
        status = response.statusCode;
        text = await response.body.text();
      } catch (err) {
        throw unavailable(app, timeout.aborted ? `no answer within ${deadlineMs} ms` : 'no connection', err);
      }
      if (status !== 200) throw unavailable(app, `HTTP ${status}`);
      let page: z.infer<typeof LogPageSchema>;
      try {
        page = LogPageSchema.parse(JSON.parse(text));
      } catch (err) {
        throw unavailable(app, 'an answer that is not a logs page', err);
      }
      return {
        lines: page.data.map((d) => ({
          timestamp: d.attributes.timestamp,
          message: d.attributes.message,
          ...(d.attributes.level ? { level: d.attributes.level } : {}),
          ...(d.attributes.instance ? { instance: d.attributes.instance } : {}),
        })),
        ...(page.meta?.next_token ? { nextToken: page.meta.next_token } : {}),
      };
    },
  };
}
