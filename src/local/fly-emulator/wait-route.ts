/** `GET /v1/apps/:app/machines/:id/wait`: held open until the machine reaches a state, as Fly does. */
import {
  apiError,
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

const WAIT_STATES = new Set(['started', 'stopped', 'suspended', 'destroyed', 'failed', 'settled']);

export function waitRoutes({ store, lifecycle }: EmulatorParts): Route[] {
  async function waitMachine(ctx: RequestContext): Promise<Reply> {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    const states = ctx.query
      .getAll('state')
      .flatMap((value) => value.split(','))
      .filter(Boolean);
    if (states.length === 0) states.push('started');
    const bad = states.find((state) => !WAIT_STATES.has(state));
    if (bad) return apiError(400, `invalid_argument: invalid state "${bad}"`);
    const timeoutText = ctx.query.get('timeout');
    const timeoutS = timeoutText === null ? 60 : Number(timeoutText);
    if (!Number.isFinite(timeoutS) || timeoutS < 1 || timeoutS > 60) {
      return apiError(400, 'invalid_argument: timeout must be in the range [1s, 1m0s]');
    }
    const version = ctx.query.get('version') ?? ctx.query.get('instance_id');
    if (states.includes('stopped') && !version) {
      return apiError(400, 'instance_id required when waiting for stopped machine');
    }
    const outcome = await lifecycle.waitFor(record, states, timeoutS * 1000);
    if (outcome === 'reached') {
      return {
        status: 200,
        body: {
          ok: true,
          state: record.state,
          version: record.instanceId,
          event_id: record.events[0]?.id ?? '',
        },
      };
    }
    if (outcome === 'gone') return NOT_FOUND_MACHINE();
    if (outcome === 'failed') return apiError(400, 'machine failed to reach desired state');
    return apiError(408, `deadline_exceeded: timeout waiting for machine to be ${states.join(',')}`);
  }

  return [
    {
      method: 'GET',
      template: '/v1/apps/:app/machines/:id/wait',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}/wait`),
      handler: waitMachine,
    },
  ];
}
