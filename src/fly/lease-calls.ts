/**
 * Fly machine leases (`/apps/{app}/machines/{id}/lease`): taken before every change vyxbot makes to
 * a machine, so two replicas, or a person with flyctl, cannot change it at the same time. The wire
 * shape is Fly's `{status, data}` envelope (fly-go decodes it; both OpenAPI specs model it flat).
 */
import { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';
import type { CallSpec } from './fly-reply.ts';
import type { CallOptions, createFlyTransport } from './fly-transport.ts';

export interface Lease {
  nonce: string;
  owner: string;
  description: string;
  /** Unix ms. */
  expiresAt: number;
}

const LeaseSchema = z.looseObject({
  nonce: z.string(),
  owner: z.string().nullish(),
  description: z.string().nullish(),
  expires_at: z.number(),
});
const LeaseEnvelopeSchema = z.looseObject({ data: LeaseSchema });

const toLease = (raw: z.infer<typeof LeaseSchema>): Lease => ({
  nonce: raw.nonce,
  owner: raw.owner ?? '',
  description: raw.description ?? '',
  expiresAt: raw.expires_at * 1000,
});

/** Who holds a lease, as a person reads it: owner, what for, until when. */
export function leaseHolderText(lease: Pick<Lease, 'owner' | 'description' | 'expiresAt'>): string {
  const what = lease.description ? ` (${lease.description})` : '';
  return `${lease.owner || 'someone'}${what} until ${new Date(lease.expiresAt).toISOString().slice(11, 19)} UTC`;
}

export interface LeaseCalls {
  /** Takes the lease; throws FLY_LEASE_HELD (details.holder) when someone else holds it. */
  acquireLease(
    app: string,
    machineId: string,
    options: CallOptions & { ttlSeconds: number; description: string },
  ): Promise<Lease>;
  /** The lease held now, or undefined when none is. */
  getLease(app: string, machineId: string, options?: CallOptions): Promise<Lease | undefined>;
  releaseLease(app: string, machineId: string, nonce: string, options?: CallOptions): Promise<void>;
}

export function leaseCalls(
  transport: ReturnType<typeof createFlyTransport>,
  machinePath: (app: string, id: string) => string,
): LeaseCalls {
  const { now, defaultDeadline, send, statusError, transportError, callIdempotent, parse } = transport;

  async function getLease(app: string, machineId: string, call?: CallOptions): Promise<Lease | undefined> {
    const spec: CallSpec = { method: 'GET', path: `${machinePath(app, machineId)}/lease`, accept: [404] };
    const reply = await callIdempotent(spec, call, { app, machineId });
    if (reply.status === 404) {
      // Fly answers 404 both for "no lease" and for a missing app or machine; only the latter is an error.
      if (/(machine|app) not found/i.test(reply.text)) {
        throw statusError(spec, reply, reply.attempts, { app, machineId });
      }
      return undefined;
    }
    return toLease(parse(LeaseEnvelopeSchema, reply, spec).data);
  }

  async function acquireLease(
    app: string,
    machineId: string,
    call: CallOptions & { ttlSeconds: number; description: string },
  ): Promise<Lease> {
    const spec: CallSpec = {
      method: 'POST',
      path: `${machinePath(app, machineId)}/lease`,
      body: { ttl: call.ttlSeconds, description: call.description },
    };
    const extra = { app, machineId };
    // Sent once, never retried: a repeated acquire whose first answer was lost would find our own
    // lease held by "someone" and could not know its nonce. The lease expires by itself (short TTL).
    let reply: Awaited<ReturnType<typeof send>>;
    try {
      reply = await send(spec, now() + (call.deadlineMs ?? defaultDeadline), call.signal);
    } catch (error) {
      throw transportError(spec, error, 1, extra);
    }
    if (reply.status === 409) {
      const held = await getLease(app, machineId, call).catch(() => undefined);
      const holder = held ? leaseHolderText(held) : statusError(spec, reply, 1, extra).message;
      throw new VyxError('FLY_LEASE_HELD', `Machine ${machineId} is leased by ${holder}`, {
        suggestion: 'Wait for that change to finish (the lease expires by itself), then try again.',
        details: { ...extra, holder, requestId: reply.requestId },
      });
    }
    if (reply.status < 200 || reply.status >= 300) throw statusError(spec, reply, 1, extra);
    return toLease(parse(LeaseEnvelopeSchema, reply, spec).data);
  }

  async function releaseLease(app: string, machineId: string, nonce: string, call?: CallOptions) {
    const spec: CallSpec = {
      method: 'DELETE',
      path: `${machinePath(app, machineId)}/lease`,
      headers: { 'fly-machine-lease-nonce': nonce },
    };
    await callIdempotent(spec, call, { app, machineId });
  }

  return { acquireLease, getLease, releaseLease };
}
