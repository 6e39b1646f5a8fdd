import { z } from 'zod';
import { VyxError } from '../../../src/errors/vyx-error.ts';
import { provisionCalls, type RpcCall } from '../../../src/store/provision-calls.ts';
import { type PostgrestLikeError, storeErrorFrom } from '../../../src/store/store-error.ts';
import type { CloudMachine, ProvisionResult } from '../../../src/store/store-schemas.ts';
import type { Settings } from './settings.ts';

/**
 * The function's thin Supabase adapter on fetch (the bot's store is supabase-js on Node): who the
 * caller is, from Supabase Auth; and the same SQL functions the bot calls through PostgREST's
 * `/rest/v1/rpc/<fn>`, answers checked with the bot's own schemas, failures coded by the bot's
 * own mapping.
 */
export interface SupabaseApi {
  /** The caller's user id, or null when the token is missing, invalid or expired. */
  userOf(authorization: string | null): Promise<string | null>;
  getActiveMachine(userId: string): Promise<CloudMachine | null>;
  /** The bot's call, without its Slack fields (the function is called from the web UI). */
  beginTrackedProvision(
    input: Omit<
      Parameters<typeof provisionCalls.beginTrackedProvision>[0],
      'slackTeamId' | 'slackChannel' | 'requestedBy'
    >,
  ): Promise<ProvisionResult>;
  provisionStep(
    machineId: string,
    owner: string,
    step: 'creating' | 'created' | 'waiting' | 'done' | 'failed',
    more?: { leaseS?: number; flyMachineId?: string; detail?: string },
  ): Promise<boolean>;
  attachFlyMachine(machineId: string, flyMachineId: string, flyApp: string): Promise<CloudMachine>;
  getMachine(machineId: string): Promise<CloudMachine>;
}

const authUserSchema = z.object({ id: z.string().min(1) });

export function supabaseApi(settings: Settings, fetchFn: typeof fetch, timeoutMs = 10_000): SupabaseApi {
  const base = settings.supabaseUrl.replace(/\/+$/, '');

  async function call<T>(fn: string, args: Record<string, unknown>, schema: z.ZodType<T>): Promise<T> {
    const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    let res: Response;
    try {
      res = await fetchFn(`${base}/rest/v1/rpc/${fn}`, {
        method: 'POST',
        headers: {
          apikey: settings.serviceRoleKey,
          authorization: `Bearer ${settings.serviceRoleKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(clean),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw storeErrorFrom(fn, 0, { message: (err as Error).message });
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = { message: text.slice(0, 200) };
    }
    if (!res.ok) throw storeErrorFrom(fn, res.status, (body ?? {}) as PostgrestLikeError);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new VyxError('STORE_FAILED', `the database answered ${fn} in an unexpected shape`, {
        suggestion:
          'Apply the latest migrations in supabase/migrations/ to this database (supabase db push).',
        details: { function: fn },
      });
    }
    return parsed.data;
  }
  // Always POST (PostgREST runs read-only functions read-only either way).
  const run = <T>(c: RpcCall<T>) => call(c.fn, c.args, c.schema);

  return {
    async userOf(authorization) {
      const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!bearer) return null;
      let res: Response;
      try {
        res = await fetchFn(`${base}/auth/v1/user`, {
          headers: { apikey: settings.authApiKey, authorization: `Bearer ${bearer}` },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new VyxError(
          'STORE_UNAVAILABLE',
          'Supabase Auth could not be reached to check who is calling',
          {
            suggestion: 'Try again in a minute.',
            details: { said: (err as Error).message },
          },
        );
      }
      const body: unknown = await res.json().catch(() => null);
      // Auth answers 401/403 for a missing, malformed, badly signed or expired token or a deleted
      // user, and 400 for a token whose subject is no user id (a project key, say).
      if (res.status === 400 || res.status === 401 || res.status === 403) return null;
      const user = authUserSchema.safeParse(body);
      if (!res.ok || !user.success) {
        throw new VyxError(
          'STORE_UNAVAILABLE',
          `Supabase Auth answered ${res.status} when asked who is calling`,
          {
            suggestion: 'Try again in a minute; if it lasts, check the function’s SUPABASE_URL.',
            details: { httpStatus: res.status },
          },
        );
      }
      return user.data.id;
    },
    async getActiveMachine(userId) {
      return (await run(provisionCalls.getActiveMachine(userId)))[0] ?? null;
    },
    beginTrackedProvision: (input) => run(provisionCalls.beginTrackedProvision(input)),
    provisionStep: (machineId, owner, step, more = {}) =>
      run(provisionCalls.provisionStep(machineId, owner, step, more)),
    attachFlyMachine: (machineId, flyMachineId, flyApp) =>
      run(provisionCalls.attachFlyMachine(machineId, flyMachineId, flyApp)),
    getMachine: (machineId) => run(provisionCalls.getMachine(machineId)),
  };
}
