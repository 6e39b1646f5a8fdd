import { VyxError } from '../errors/vyx-error.ts';

/** What supabase-js resolves in `error` (PostgREST's body, or a synthetic one for network failures). */
export interface PostgrestLikeError {
  code?: string;
  message?: string;
  details?: string | null;
  hint?: string | null;
}

export const STORE_ERROR_CODES = [
  'STORE_NOT_FOUND',
  'STORE_CONFLICT',
  'STORE_INVALID',
  'STORE_UNAUTHORIZED',
  'STORE_UNAVAILABLE',
  'STORE_FAILED',
] as const;
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/**
 * Turns a failed rpc() answer into a coded VyxError a person can act on. The SQL functions' error
 * convention (P0001 = no row matched, PT409/23505 = conflict, 22023 = bad argument) is in the
 * first migration.
 */
export function storeErrorFrom(fn: string, status: number, error: PostgrestLikeError): VyxError {
  const sqlstate = error.code ?? '';
  const message = error.message ?? 'unknown error';
  const details = {
    function: fn,
    httpStatus: status,
    sqlstate: sqlstate || undefined,
    hint: error.hint ?? undefined,
  };
  const make = (code: StoreErrorCode, description: string, suggestion: string) =>
    new VyxError(code, description, { suggestion, details });

  // 57P01-57P03: Postgres shutting down or starting up; 08…: connection lost; 53300: too many connections.
  const down = /^(57P0[1-3]|08\d\d\d|08[0-9A-Z]{3}|53300)$/.test(sqlstate);
  if (
    status === 0 ||
    status === 503 ||
    status === 502 ||
    status === 504 ||
    sqlstate.startsWith('PGRST00') ||
    down
  ) {
    return new VyxError('STORE_UNAVAILABLE', `the database is not answering right now (${fn})`, {
      suggestion:
        'Try again in a minute; if it lasts, check that SUPABASE_URL is right and Supabase (or the local twin and its Postgres) is running.',
      details: { ...details, said: message },
    });
  }
  if (status === 401 || status === 403 || sqlstate === '42501' || sqlstate.startsWith('PGRST3')) {
    return make(
      'STORE_UNAUTHORIZED',
      `the database refused the credential (${fn}): ${message}`,
      'The bot needs SUPABASE_SERVICE_KEY = the project’s service_role key (Settings → API); a machine needs the SUPABASE_MACHINE_TOKEN the bot minted for its own MACHINE_ID.',
    );
  }
  if (sqlstate === 'P0001') {
    return make('STORE_NOT_FOUND', message, error.hint ?? 'Check the id; `/vyx list` shows your machines.');
  }
  if (status === 409 || sqlstate === 'PT409' || sqlstate === '23505') {
    return make('STORE_CONFLICT', message, error.hint ?? 'Refresh with `/vyx status` and try again.');
  }
  if (sqlstate === 'PGRST202') {
    return make(
      'STORE_FAILED',
      `the database has no function ${fn} with these arguments`,
      'Apply the migrations in supabase/migrations/ to this database (supabase db push).',
    );
  }
  if (status >= 400 && status < 500) {
    return make('STORE_INVALID', message, error.hint ?? 'Check the value and try again.');
  }
  return make(
    'STORE_FAILED',
    `the database failed (${fn}): ${message}`,
    'Try again; if it persists, read the bot’s log.',
  );
}
