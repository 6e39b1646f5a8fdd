import type { Logger } from '../../logger.ts';
import type { AuditInput } from '../../store/inbound-store.ts';
import type { VyxStore } from '../../store/vyx-store.ts';

type Body = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * What identifies one delivery: the signature (an exact replay of a captured request carries the
 * same one) and what Slack keeps the same when it delivers again — the trigger id of a command or
 * button press, the event id of an event — so an HTTP retry and a Socket Mode redelivery match too.
 */
export function deliveryKeys(body: Body, signature: string | undefined): string[] {
  const keys: string[] = [];
  if (signature) keys.push(`sig:${signature}`);
  const trigger = str(body.trigger_id);
  if (trigger) keys.push(`trigger:${trigger}`);
  const event = str(body.event_id);
  if (event) keys.push(`event:${event}`);
  if (!trigger && body.type === 'block_actions' && Array.isArray(body.actions)) {
    const first = body.actions[0] as Body | undefined;
    const user = (body.user as Body | undefined)?.id;
    if (str(first?.action_ts)) keys.push(`action:${String(user)}:${String(first?.action_ts)}`);
  }
  return keys;
}

/** The audit row of a duplicate: what it was, who sent it. */
function duplicateAudit(body: Body, retryNum: number | undefined): AuditInput {
  const detail =
    retryNum !== undefined
      ? `Slack retry ${retryNum}; acted on once already`
      : 'delivered again; acted on once already';
  if (typeof body.command === 'string') {
    const text = str(body.text) ?? '';
    return {
      action: 'command',
      name: (text.trim().split(/\s+/)[0] || 'help').toLowerCase().slice(0, 40),
      outcome: 'duplicate',
      ...(str(body.team_id) ? { slackTeamId: str(body.team_id)! } : {}),
      ...(str(body.user_id) ? { slackUserId: str(body.user_id)! } : {}),
      args: text.slice(0, 500),
      detail,
    };
  }
  const action = Array.isArray(body.actions) ? (body.actions[0] as Body | undefined) : undefined;
  const user = body.user as Body | undefined;
  const team = body.team as Body | undefined;
  return {
    action: action ? 'button' : 'request',
    name: (str(action?.action_id) ?? str(body.type) ?? 'unknown').slice(0, 40),
    outcome: 'duplicate',
    ...(str(team?.id) ? { slackTeamId: str(team?.id)! } : {}),
    ...(str(user?.id) ? { slackUserId: str(user?.id)! } : {}),
    ...(str(action?.value) ? { args: str(action?.value)!.slice(0, 500) } : {}),
    detail,
  };
}

/** Is this delivery the first? (Else it was acknowledged like any other and is now dropped.) */
export type DeliveryDedupe = (delivery: {
  body: unknown;
  context: Record<string, unknown>;
}) => Promise<boolean>;

/**
 * Called by every handler right after `ack()` — the HTTP and Socket Mode receivers both pass there,
 * and Slack's 3 s are not spent on the database: a delivery seen before (any replica, through
 * Postgres) is dropped — one effect, one reply — and audited as a duplicate. When the database
 * cannot say within `timeoutMs`, the delivery goes ahead (logged): commands that need the database
 * fail on their own, and `/vyx help` still answers.
 */
export function createDeliveryDedupe(deps: {
  store: Pick<VyxStore, 'firstDelivery' | 'recordAudit'>;
  logger: Logger;
  timeoutMs?: number;
}): DeliveryDedupe {
  const timeoutMs = deps.timeoutMs ?? 1_500;
  return async ({ body: raw, context }) => {
    const body = raw as Body;
    const keys = deliveryKeys(body, str(context.vyxSignature));
    if (keys.length === 0) return true;
    try {
      if (await withDeadline(deps.store.firstDelivery(keys), timeoutMs)) return true;
    } catch (err) {
      deps.logger.warn(
        { err: (err as Error)?.message },
        'could not check for a duplicate delivery; acting on it',
      );
      return true;
    }
    const retryNum = typeof context.retryNum === 'number' ? context.retryNum : undefined;
    const audit = duplicateAudit(body, retryNum);
    deps.logger.info(
      { name: audit.name, retryNum, keys: keys.map((k) => k.split(':')[0]) },
      'duplicate Slack delivery dropped',
    );
    await deps.store.recordAudit(audit).catch((err: unknown) => {
      deps.logger.error({ err: (err as Error)?.message }, 'audit write failed');
    });
    return false;
  };
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
