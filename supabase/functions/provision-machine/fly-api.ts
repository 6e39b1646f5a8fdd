import type { z } from 'zod';
import { flyAuthorization, flyErrorForStatus, flyErrorForTransport } from '../../../src/fly/fly-http.ts';
import {
  type CreateMachineInput,
  type Machine,
  MachineSchema,
  WaitResponseSchema,
} from '../../../src/fly/fly-types.ts';
import type { Settings } from './settings.ts';

/**
 * The function's thin Machines API adapter on fetch (the bot's client is undici on Node): the
 * three calls a start needs, answers checked with the bot's own schemas, failures coded FLY_* by
 * the bot's own mapping. A create is sent once: whether Fly made it after a lost answer is left to
 * the bot's recovery, which finds the machine by the create key in its metadata.
 */
export interface FlyApi {
  create(input: CreateMachineInput): Promise<Machine>;
  /** Waits for `started` (looping over short server waits): reached, `failed` when the machine stopped or failed instead, or `timeout`. */
  waitStarted(flyMachineId: string, timeoutMs: number): Promise<'started' | 'failed' | 'timeout'>;
}

/** States from which a machine does not go on to `started` by itself. */
const NOT_STARTING = new Set(['stopped', 'stopping', 'failed', 'destroyed', 'destroying', 'suspended']);
/** Longest single server wait; Fly allows up to 60 s. */
const WAIT_CALL_S = 10;

export function flyApi(settings: Settings, fetchFn: typeof fetch, timeoutMs = 30_000): FlyApi {
  const base = `${settings.flyApiUrl.replace(/\/+$/, '')}/v1/apps/${encodeURIComponent(settings.flyApp)}/machines`;

  async function send(method: string, path: string, body?: unknown, deadlineMs = timeoutMs) {
    const context = { method, path: `/apps/${settings.flyApp}/machines${path}` };
    let res: Response;
    try {
      res = await fetchFn(`${base}${path}`, {
        method,
        headers: {
          authorization: flyAuthorization(settings.flyToken),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(deadlineMs),
      });
    } catch (err) {
      const name = (err as { name?: string }).name;
      throw flyErrorForTransport(name === 'TimeoutError' ? 'timeout' : 'network', { ...context, cause: err });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { res, json, context };
  }

  function ok<T>(schema: z.ZodType<T>, r: Awaited<ReturnType<typeof send>>): T {
    const flyError = (r.json as { error?: unknown } | undefined)?.error;
    if (!r.res.ok) {
      throw flyErrorForStatus(r.res.status, {
        ...r.context,
        requestId: r.res.headers.get('fly-request-id') ?? undefined,
        ...(typeof flyError === 'string' ? { flyError } : {}),
      });
    }
    const parsed = schema.safeParse(r.json);
    if (!parsed.success) throw flyErrorForStatus(502, { ...r.context, flyError: 'unexpected answer shape' });
    return parsed.data;
  }

  const get = async (id: string) => ok(MachineSchema, await send('GET', `/${encodeURIComponent(id)}`));

  return {
    async create(input) {
      return ok(MachineSchema, await send('POST', '', input));
    },
    async waitStarted(id, totalMs) {
      const deadline = Date.now() + totalMs;
      for (;;) {
        const remainingS = Math.floor((deadline - Date.now()) / 1000);
        if (remainingS < 1) return 'timeout';
        // Short server waits: a machine that already stopped or failed before the wait began is
        // not reported by the wait itself, so its state is read between two waits.
        const seconds = Math.min(WAIT_CALL_S, remainingS);
        const r = await send(
          'GET',
          `/${encodeURIComponent(id)}/wait?state=started&timeout=${seconds}`,
          undefined,
          seconds * 1000 + 5_000,
        );
        if (r.res.status === 408) {
          const machine = await get(id);
          if (machine.state === 'started') return 'started';
          if (NOT_STARTING.has(machine.state)) return 'failed';
          continue;
        }
        // Fly answers 400 "machine failed to reach desired state" when it stopped or failed instead.
        const said = (r.json as { error?: unknown } | undefined)?.error;
        if (r.res.status === 400 && /desired state/.test(String(said))) return 'failed';
        const waited = ok(WaitResponseSchema, r);
        return waited.state === undefined || waited.state === 'started' ? 'started' : 'failed';
      }
    },
  };
}
