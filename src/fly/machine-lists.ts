/**
 * Listing an app's machines: whole (`list`), or streamed and trimmed to the fields the watchers judge
 * by (`listEach`), pages followed through `fly-next-cursor` until the last. Part of the Machines API
 * client (machines-client.ts), on its transport.
 */
import { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';
import type { CallSpec } from './fly-reply.ts';
import type { CallOptions, createFlyTransport } from './fly-transport.ts';
import { type Machine, MachineSchema } from './fly-types.ts';
import { jsonArrayElementBatches } from './json-array-stream.ts';
import { readWatchedMachine, watchedFields } from './watched-machine.ts';

export interface ListOptions extends CallOptions {
  includeDeleted?: boolean;
  region?: string;
  /** Exact-match metadata filters (AND). */
  metadata?: Record<string, string>;
  /** States to keep (created, started, stopped, suspended). */
  states?: string[];
  summary?: boolean;
  /** Page size (`limit`); pages are followed through `fly-next-cursor` until the last. */
  pageSize?: number;
}

export function machineLists(transport: ReturnType<typeof createFlyTransport>) {
  const { now, defaultDeadline, openIdempotent, callIdempotent, parse, parseValue } = transport;

  function listQuery(listOptions: ListOptions, cursor: string | undefined): URLSearchParams {
    const query = new URLSearchParams();
    if (listOptions.includeDeleted) query.set('include_deleted', 'true');
    if (listOptions.region) query.set('region', listOptions.region);
    if (listOptions.states?.length) query.set('state', listOptions.states.join(','));
    if (listOptions.summary) query.set('summary', 'true');
    for (const [key, value] of Object.entries(listOptions.metadata ?? {}))
      query.append(`metadata.${key}`, value);
    if (listOptions.pageSize) query.set('limit', String(listOptions.pageSize));
    if (cursor) query.set('cursor', cursor);
    return query;
  }

  async function list(app: string, listOptions: ListOptions = {}): Promise<Machine[]> {
    const deadlineAt = now() + (listOptions.deadlineMs ?? defaultDeadline);
    const machines: Machine[] = [];
    let cursor: string | undefined;
    for (;;) {
      const query = listQuery(listOptions, cursor);
      const spec: CallSpec = { method: 'GET', path: `/apps/${encodeURIComponent(app)}/machines`, query };
      const reply = await callIdempotent(spec, listOptions, { app }, deadlineAt);
      machines.push(...parse(z.array(MachineSchema), reply, spec));
      const next = reply.headers['fly-next-cursor'];
      cursor = Array.isArray(next) ? next[0] : next;
      if (!cursor) return machines;
    }
  }

  /**
   * `list`, streamed: each machine is handed to `onMachine` as it is read, with only the fields the
   * watchers judge by (watched-machine.ts), so neither the body nor the whole list is ever held.
   * Pages are followed like `list`'s. A body that breaks off midway is not retried (machines were
   * already handed on): the call fails with FLY_UNAVAILABLE. Returns how many machines were read.
   */
  async function listEach(
    app: string,
    onMachine: (machine: Machine) => void,
    listOptions: Omit<ListOptions, 'summary'> = {},
  ): Promise<number> {
    const deadlineAt = now() + (listOptions.deadlineMs ?? defaultDeadline);
    let count = 0;
    let cursor: string | undefined;
    for (;;) {
      const query = listQuery(listOptions, cursor);
      const spec: CallSpec = { method: 'GET', path: `/apps/${encodeURIComponent(app)}/machines`, query };
      const reply = await openIdempotent(spec, listOptions, { app }, deadlineAt);
      let status = 0;
      try {
        for await (const texts of jsonArrayElementBatches(reply.body)) {
          for (const text of texts) {
            const raw = JSON.parse(text);
            // The fast reading; the schema's (whose error names the field) only when that fails.
            onMachine(readWatchedMachine(raw) ?? parseValue(MachineSchema, watchedFields(raw), reply, spec));
            count++;
          }
        }
        status = reply.status;
      } catch (error) {
        await reply.body.dump().catch(() => {});
        if (error instanceof VyxError) throw error;
        throw new VyxError(
          'FLY_UNAVAILABLE',
          `Fly's answer to GET ${spec.path} broke off or is not a JSON array of machines`,
          {
            suggestion: 'Check that the Fly API URL points at the Machines API, then try again.',
            details: { app, requestId: reply.requestId, read: count, error: String(error).slice(0, 200) },
            cause: error,
          },
        );
      } finally {
        reply.report(status);
      }
      const next = reply.headers['fly-next-cursor'];
      cursor = Array.isArray(next) ? next[0] : next;
      if (!cursor) return count;
    }
  }

  return { list, listEach };
}
