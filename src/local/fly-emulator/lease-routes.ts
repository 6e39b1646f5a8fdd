/**
 * Machine leases as Fly serves them: `POST|GET|DELETE /v1/apps/{app}/machines/{id}/lease`, the
 * `{status, data}` envelope, 409 while someone else holds one, and the guard every mutating route
 * runs (a leased machine refuses a change without the lease's nonce).
 */
import { randomBytes } from 'node:crypto';
import {
  type EmulatorParts,
  isReply,
  machineOr404,
  NOT_FOUND_MACHINE,
  type Reply,
  type RequestContext,
  type Route,
  routePattern,
  SEGMENT,
} from './emulator-reply.ts';
import { type MachineRecord, rfc3339 } from './machine-store.ts';

const DEFAULT_TTL_S = 30;

const leaseError = (status: number, message: string): Reply => ({
  status,
  body: { status: 'error', message, code: 'invalid' },
});

function liveLease(record: MachineRecord, now: number): MachineRecord['lease'] {
  if (record.lease && record.lease.expiresAt <= now) delete record.lease;
  return record.lease;
}

const heldMessage = (record: MachineRecord, lease: NonNullable<MachineRecord['lease']>) =>
  `machine ID ${record.id} lease currently held by ${lease.owner}, expires at ${rfc3339(lease.expiresAt).replace('T', ' ').replace('Z', ' +0000 UTC')}`;

/** The 409 Fly answers a change to a leased machine that does not carry the lease's nonce. */
export function leaseRefusal(record: MachineRecord, ctx: RequestContext, now: number): Reply | undefined {
  const lease = liveLease(record, now);
  if (!lease || ctx.leaseNonce === lease.nonce) return undefined;
  return leaseError(409, heldMessage(record, lease));
}

const leaseJson = (lease: NonNullable<MachineRecord['lease']>) => ({
  nonce: lease.nonce,
  expires_at: Math.floor(lease.expiresAt / 1000),
  owner: lease.owner,
  description: lease.description,
  version: lease.version,
});

export function leaseRoutes({ store, now }: EmulatorParts, owner: string): Route[] {
  function acquire(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const body = (ctx.body ?? {}) as { ttl?: unknown; description?: unknown };
    // The docs send `{ttl}` in the body; fly-go sends `?ttl=`: both are accepted, as Fly does.
    const raw = body.ttl ?? ctx.query.get('ttl') ?? DEFAULT_TTL_S;
    const ttl = Number(raw);
    if (!Number.isInteger(ttl) || ttl < 1) return leaseError(400, `invalid ttl "${String(raw)}"`);
    const held = liveLease(record, now());
    // Sending the held lease's nonce refreshes it; anyone else is refused.
    if (held && ctx.leaseNonce !== held.nonce) return leaseError(409, heldMessage(record, held));
    record.lease = {
      nonce: held?.nonce ?? randomBytes(6).toString('hex'),
      owner,
      description: typeof body.description === 'string' ? body.description : '',
      expiresAt: now() + ttl * 1000,
      version: record.instanceId,
    };
    return { status: 201, body: { status: 'success', data: leaseJson(record.lease) } };
  }

  function read(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    const lease = liveLease(record, now());
    if (!lease) return leaseError(404, `no lease found for machine ${record.id}`);
    return { status: 200, body: { status: 'success', data: leaseJson(lease) } };
  }

  function release(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    const lease = liveLease(record, now());
    if (lease) {
      if (ctx.leaseNonce !== lease.nonce) return leaseError(409, heldMessage(record, lease));
      delete record.lease;
    }
    return { status: 200, body: { status: 'success', data: { ok: true } } };
  }

  const pattern = routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}/lease`);
  const template = '/v1/apps/:app/machines/:id/lease';
  return [
    { method: 'POST', template, pattern, handler: acquire },
    { method: 'GET', template, pattern, handler: read },
    { method: 'DELETE', template, pattern, handler: release },
  ];
}
