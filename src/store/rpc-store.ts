import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { z } from 'zod';
import { VyxError } from '../errors/vyx-error.ts';
import { createLeanFetch } from '../http/lean-fetch.ts';
import type { RpcCall } from './provision-calls.ts';
import { storeErrorFrom } from './store-error.ts';

export interface VyxStoreOptions {
  /** `SUPABASE_URL` (Supabase or the local twin). */
  url: string;
  /** Sent as `apikey`: `SUPABASE_SERVICE_KEY` (the bot), or the anon key with `accessToken` (a machine). */
  serviceKey: string;
  /** A JWT sent as `Authorization: Bearer` instead of the key: a machine's own credential. */
  accessToken?: string;
  /** Per-call deadline. */
  timeoutMs?: number;
  /** Injected fetch (tests); defaults to the lean one (src/http/lean-fetch.ts). */
  fetch?: typeof fetch;
}

/**
 * The store's plumbing: a supabase-js client with a per-call deadline and no hidden retries, and
 * `call` — one SQL function through `rpc()`, its answer validated with zod, its failure a coded
 * VyxError (STORE_NOT_FOUND, STORE_CONFLICT, STORE_INVALID, STORE_UNAUTHORIZED, STORE_UNAVAILABLE,
 * STORE_FAILED).
 */
/** One pool for every store of the process (the bot's and each machine's). */
const leanFetch = createLeanFetch();

export class RpcStore {
  protected readonly sb: SupabaseClient;

  constructor(options: VyxStoreOptions) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const baseFetch = options.fetch ?? leanFetch;
    const bearer = options.accessToken ?? options.serviceKey;
    this.sb = createClient(options.url, options.serviceKey, {
      // The bearer given, not a session: without it supabase-js asks its auth client for a session
      // before every request (a sixth of what a `/vyx status` allocated) and never finds one.
      accessToken: async () => bearer,
      // No hidden retries (1 s, 2 s, 4 s on a 503): an outage is answered within 2 s, in our words.
      db: { retry: false },
      global: {
        ...(options.accessToken ? { headers: { Authorization: `Bearer ${options.accessToken}` } } : {}),
        fetch: (input, init) =>
          baseFetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) }),
      },
    });
  }

  /** A call described as data (src/store/provision-calls.ts). */
  protected run<T>(c: RpcCall<T>): Promise<T> {
    return this.call(c.fn, c.args, c.schema, c.get ?? false);
  }

  /**
   * `fast`, for big answers: the answer checked in place, as the schema would give it back, or
   * undefined to let the schema parse it (and name what is wrong).
   */
  protected async call<T>(
    fn: string,
    args: Record<string, unknown>,
    schema: z.ZodType<T>,
    get = false,
    fast?: (data: unknown) => T | undefined,
  ): Promise<T> {
    const clean = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    const { data, error, status } = await this.sb.rpc(fn, clean, { get });
    if (error) throw storeErrorFrom(fn, status, error);
    const checked = fast?.(data);
    if (checked !== undefined) return checked;
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new VyxError('STORE_FAILED', `the database answered ${fn} in an unexpected shape`, {
        suggestion: 'Apply the latest migrations in supabase/migrations/ to this database.',
        details: {
          function: fn,
          issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`),
        },
      });
    }
    return parsed.data;
  }
}
