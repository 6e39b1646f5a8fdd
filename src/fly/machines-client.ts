/**
 * Fly Machines API client on undici (https://api.machines.dev/v1, or the local emulator).
 *
 * - Every call has a deadline (default 30 s; `wait` has its own, looping over ≤ 60 s server waits).
 * - Idempotent calls (get, list, wait, events, secrets, stop, start, destroy) retry with exponential
 *   backoff and jitter on 408/429/5xx and connection errors, honouring `Retry-After`, within the
 *   deadline.
 * - A create is never blindly repeated: every create carries a `vyx_create_key` metadata value; after
 *   failure that could be retried (5xx, 408, 429, connection reset) the client lists machines by that
 *   key first and returns the machine if it exists, and only retries once it is known to be absent.
 * - Failures are `VyxError`s with FLY_* codes, Fly's `fly-request-id` in `details.requestId`.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { METADATA_CREATE_KEY } from '../contract/machine-metadata.ts';
import { VyxError } from '../errors/vyx-error.ts';
import type { CallSpec, Reply } from './fly-reply.ts';
import {
  type CallOptions,
  createFlyTransport,
  type FlyMachinesClientOptions,
  RETRYABLE_STATUS,
} from './fly-transport.ts';
import {
  type CreateMachineInput,
  type Machine,
  type MachineEvent,
  MachineEventSchema,
  MachineSchema,
  RegionListSchema,
  SecretListSchema,
  StartResponseSchema,
  type StartResult,
  WaitResponseSchema,
} from './fly-types.ts';
import { type LeaseCalls, leaseCalls } from './lease-calls.ts';
import { type ListOptions, machineLists } from './machine-lists.ts';

/** The metadata key each create carries so an ambiguous create can be found instead of repeated. */
export const CREATE_KEY_METADATA = METADATA_CREATE_KEY;

export type { CallOptions, FlyMachinesClientOptions } from './fly-transport.ts';
export { flyRouteTemplate } from './fly-transport.ts';
export type { ListOptions } from './machine-lists.ts';

export type WaitState = 'started' | 'stopped' | 'suspended' | 'destroyed' | 'failed' | 'settled';

export interface WaitOptions extends CallOptions {
  /** Default `started`. */
  state?: WaitState;
  /** The machine version (`instance_id`); Fly requires it for `stopped`, so it is read when absent. */
  instanceId?: string;
  /** Overall wait; Fly caps one call at 60 s, so longer waits loop. Default 60 000 ms. */
  timeoutMs?: number;
  /** Longest single server wait, 1…60 s. Default 60. */
  callSeconds?: number;
}

export interface WaitResult {
  state: string;
  /** True when the machine was not found while waiting for `destroyed` (Fly forgot it). */
  gone: boolean;
}

/** A change to a leased machine carries the lease's nonce (Fly refuses it with 409 otherwise). */
export interface LeasedCall extends CallOptions {
  leaseNonce?: string;
}

export interface StopOptions extends LeasedCall {
  signal?: AbortSignal;
  /** Signal to send the process, e.g. `SIGTERM` (Fly's default). */
  killSignal?: string;
  /** Go duration string before Fly kills the process, e.g. `10s`. */
  killTimeout?: string;
}

export interface FlyMachinesClient extends LeaseCalls {
  create(app: string, input: CreateMachineInput, options?: CallOptions): Promise<Machine>;
  get(app: string, machineId: string, options?: CallOptions): Promise<Machine>;
  list(app: string, options?: ListOptions): Promise<Machine[]>;
  /** `list`, streamed and trimmed to the watched fields; returns how many machines were read. */
  listEach(
    app: string,
    onMachine: (machine: Machine) => void,
    options?: Omit<ListOptions, 'summary'>,
  ): Promise<number>;
  wait(app: string, machineId: string, options?: WaitOptions): Promise<WaitResult>;
  stop(app: string, machineId: string, options?: StopOptions): Promise<void>;
  start(app: string, machineId: string, options?: LeasedCall): Promise<StartResult>;
  destroy(app: string, machineId: string, options?: LeasedCall & { force?: boolean }): Promise<void>;
  listEvents(
    app: string,
    machineId: string,
    options?: CallOptions & { limit?: number },
  ): Promise<MachineEvent[]>;
  /** Names of the app's secrets (never values). */
  listSecretNames(app: string, options?: CallOptions): Promise<string[]>;
  /** Fly's regions (`GET /v1/platform/regions`). */
  listRegions(options?: CallOptions): Promise<{ code: string; name: string; deprecated: boolean }[]>;
}

export function createFlyMachinesClient(options: FlyMachinesClientOptions): FlyMachinesClient {
  const transport = createFlyTransport(options);
  const { now, defaultDeadline, send, isAbort, statusError, transportError, backoff, callIdempotent, parse } =
    transport;
  const nonceHeader = (call: LeasedCall | undefined) =>
    call?.leaseNonce ? { headers: { 'fly-machine-lease-nonce': call.leaseNonce } } : {};

  const machinePath = (app: string, id: string) =>
    `/apps/${encodeURIComponent(app)}/machines/${encodeURIComponent(id)}`;

  async function create(app: string, input: CreateMachineInput, call: CallOptions = {}): Promise<Machine> {
    const deadlineAt = now() + (call.deadlineMs ?? defaultDeadline);
    const createKey = input.config.metadata?.[CREATE_KEY_METADATA] ?? randomBytes(12).toString('hex');
    const body: CreateMachineInput = {
      ...input,
      config: { ...input.config, metadata: { ...input.config.metadata, [CREATE_KEY_METADATA]: createKey } },
    };
    const spec: CallSpec = { method: 'POST', path: `/apps/${encodeURIComponent(app)}/machines`, body };
    const extra = { app, createKey, ...(input.name ? { name: input.name } : {}) };

    /** After an ambiguous failure: did the create happen? Throws when that cannot be known. */
    async function findCreated(cause: VyxError): Promise<Machine | undefined> {
      try {
        const found = await list(app, {
          includeDeleted: true,
          metadata: { [CREATE_KEY_METADATA]: createKey },
          deadlineMs: Math.max(1, deadlineAt - now()),
          ...(call.signal ? { signal: call.signal } : {}),
        });
        return (
          found.find((machine) => machine.config?.metadata[CREATE_KEY_METADATA] === createKey) ?? found[0]
        );
      } catch (error) {
        throw new VyxError(
          cause.code,
          `${cause.message}; the machine may or may not have been created, and Fly could not be asked`,
          {
            suggestion: `List the app's machines with metadata ${CREATE_KEY_METADATA}=${createKey} before creating again.`,
            details: {
              ...cause.details,
              lookupError: error instanceof VyxError ? error.code : String(error),
            },
            cause,
          },
        );
      }
    }

    for (let attempt = 0; ; attempt++) {
      let reply: Reply | undefined;
      let failure: VyxError;
      try {
        reply = await send(spec, deadlineAt, call.signal);
      } catch (error) {
        failure = transportError(spec, error, attempt + 1, extra);
        // Past the deadline there is no time to look; the key in the details lets a person look.
        if (isAbort(error)) throw failure;
        const found = await findCreated(failure);
        if (found) return found;
        if (!(await backoff(attempt, undefined, deadlineAt, call.signal))) throw failure;
        continue;
      }
      if (reply.status >= 200 && reply.status < 300) return parse(MachineSchema, reply, spec);
      failure = statusError(spec, reply, attempt + 1, extra);
      if (!RETRYABLE_STATUS(reply.status)) throw failure;
      // 408/5xx may come after the machine was made; Fly's 429 should not, but a proxy in between
      // could answer anything, so every retry is preceded by a look for the machine.
      const found = await findCreated(failure);
      if (found) return found;
      if (!(await backoff(attempt, reply, deadlineAt, call.signal))) throw failure;
    }
  }

  async function get(app: string, machineId: string, call?: CallOptions): Promise<Machine> {
    const spec: CallSpec = { method: 'GET', path: machinePath(app, machineId) };
    return parse(MachineSchema, await callIdempotent(spec, call, { app, machineId }), spec);
  }

  async function wait(app: string, machineId: string, waitOptions: WaitOptions = {}): Promise<WaitResult> {
    const state = waitOptions.state ?? 'started';
    const totalMs = waitOptions.timeoutMs ?? waitOptions.deadlineMs ?? 60_000;
    const deadlineAt = now() + totalMs;
    const extra = { app, machineId, state };
    let instanceId = waitOptions.instanceId;
    if (state === 'stopped' && !instanceId) {
      // Fly refuses to wait for `stopped` without the version; read it first.
      const machine = await get(app, machineId, {
        deadlineMs: Math.max(1, deadlineAt - now()),
        ...(waitOptions.signal ? { signal: waitOptions.signal } : {}),
      });
      instanceId = machine.instance_id;
    }
    for (;;) {
      const remainingS = Math.floor((deadlineAt - now()) / 1000);
      if (remainingS < 1) {
        throw new VyxError(
          'FLY_TIMEOUT',
          `Machine ${machineId} did not reach ${state} within ${totalMs} ms`,
          {
            suggestion:
              'Read the machine and its events (exit codes, launch failures) to see why it is not there yet.',
            details: extra,
          },
        );
      }
      const callSeconds = Math.max(1, Math.min(60, waitOptions.callSeconds ?? 60));
      const query = new URLSearchParams({ state, timeout: String(Math.min(callSeconds, remainingS)) });
      if (instanceId) query.set('instance_id', instanceId);
      const spec: CallSpec = {
        method: 'GET',
        path: `${machinePath(app, machineId)}/wait`,
        query,
        accept: [404, 408],
      };
      // One server wait plus a little for the answer to arrive; still bounded by the overall deadline.
      const reply = await callIdempotent(spec, waitOptions, extra, deadlineAt + 2_000);
      if (reply.status === 408) continue;
      if (reply.status === 404) {
        if (state === 'destroyed') return { state: 'destroyed', gone: true };
        throw statusError(spec, reply, reply.attempts, extra);
      }
      const body = parse(WaitResponseSchema, reply, spec);
      return { state: body.state ?? state, gone: false };
    }
  }

  async function stop(app: string, machineId: string, stopOptions: StopOptions = {}): Promise<void> {
    const body: Record<string, string> = {};
    if (stopOptions.killSignal) body.signal = stopOptions.killSignal;
    if (stopOptions.killTimeout) body.timeout = stopOptions.killTimeout;
    const spec: CallSpec = {
      method: 'POST',
      path: `${machinePath(app, machineId)}/stop`,
      body,
      ...nonceHeader(stopOptions),
    };
    await callIdempotent(spec, stopOptions, { app, machineId });
  }

  async function start(app: string, machineId: string, call?: LeasedCall): Promise<StartResult> {
    const spec: CallSpec = {
      method: 'POST',
      path: `${machinePath(app, machineId)}/start`,
      ...nonceHeader(call),
    };
    return parse(StartResponseSchema, await callIdempotent(spec, call, { app, machineId }), spec);
  }

  async function destroy(
    app: string,
    machineId: string,
    call: LeasedCall & { force?: boolean } = {},
  ): Promise<void> {
    const query = new URLSearchParams();
    if (call.force) query.set('force', 'true');
    const spec: CallSpec = {
      method: 'DELETE',
      path: machinePath(app, machineId),
      query,
      accept: [404],
      ...nonceHeader(call),
    };
    const reply = await callIdempotent(spec, call, { app, machineId });
    // A 404 after a retried attempt means the earlier attempt destroyed it (its answer was lost).
    if (reply.status === 404 && reply.attempts === 1) throw statusError(spec, reply, 1, { app, machineId });
  }

  async function listEvents(
    app: string,
    machineId: string,
    call: CallOptions & { limit?: number } = {},
  ): Promise<MachineEvent[]> {
    const query = new URLSearchParams();
    if (call.limit) query.set('limit', String(call.limit));
    const spec: CallSpec = { method: 'GET', path: `${machinePath(app, machineId)}/events`, query };
    return parse(z.array(MachineEventSchema), await callIdempotent(spec, call, { app, machineId }), spec);
  }

  async function listSecretNames(app: string, call?: CallOptions): Promise<string[]> {
    const spec: CallSpec = { method: 'GET', path: `/apps/${encodeURIComponent(app)}/secrets` };
    const body = parse(SecretListSchema, await callIdempotent(spec, call, { app }), spec);
    const names = Array.isArray(body) ? body.map((secret) => secret.label) : body.secrets.map((s) => s.name);
    return [...new Set(names)].sort();
  }

  async function listRegions(call?: CallOptions) {
    const spec: CallSpec = { method: 'GET', path: '/platform/regions' };
    const body = parse(RegionListSchema, await callIdempotent(spec, call, {}), spec);
    return body.regions.map((r) => ({
      code: r.code,
      name: r.name ?? r.code,
      deprecated: r.deprecated ?? false,
    }));
  }

  const { list, listEach } = machineLists(transport);

  return {
    create,
    get,
    list,
    listEach,
    wait,
    stop,
    start,
    destroy,
    listEvents,
    listSecretNames,
    listRegions,
    ...leaseCalls(transport, machinePath),
  };
}
