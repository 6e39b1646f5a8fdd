/**
 * PostgREST's SQLSTATE → HTTP status map (postgrest `src/PostgREST/Error.hs`, mapSQLtoHTTP), the
 * JSON body shape every PostgREST error has, and the answer for any failure (`errorAnswer`).
 */
export interface PostgrestErrorBody {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}

const EXACT: Record<string, number> = {
  '21000': 500,
  '23503': 409,
  '23505': 409,
  '25006': 405,
  '42883': 404,
  '42P01': 404,
  '42P17': 500,
  '53400': 500,
  '57P01': 503,
  P0001: 400,
};

const BY_PREFIX: [string, number][] = [
  ['08', 503],
  ['09', 500],
  ['0L', 403],
  ['0P', 403],
  ['25', 500],
  ['28', 403],
  ['2D', 500],
  ['38', 500],
  ['39', 500],
  ['3B', 500],
  ['40', 500],
  ['53', 503],
  ['54', 500],
  ['55', 500],
  ['57', 500],
  ['58', 500],
  ['F0', 500],
  ['HV', 500],
  ['P0', 500],
  ['XX', 500],
];

/** Network-level failures to reach the database (pg driver error codes), answered 503 as PostgREST does. */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);

/** The HTTP status PostgREST answers for a SQLSTATE. `authenticated`: 42501 is 403, else 401. */
export function httpStatusForSqlState(code: string, authenticated = true): number {
  if (/^PT\d{3}$/.test(code)) return Number.parseInt(code.slice(2), 10);
  if (code === '42501') return authenticated ? 403 : 401;
  const exact = EXACT[code];
  if (exact !== undefined) return exact;
  for (const [prefix, status] of BY_PREFIX) if (code.startsWith(prefix)) return status;
  return 400;
}

export function errorBody(
  code: string,
  message: string,
  details: string | null = null,
  hint: string | null = null,
): PostgrestErrorBody {
  return { code, message, details, hint };
}

/** An answer decided before (or instead of) the database: status and PostgREST's error body. */
export class HttpError extends Error {
  readonly status: number;
  readonly body: PostgrestErrorBody;
  constructor(status: number, body: PostgrestErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

/**
 * What PostgREST answers for a failure: an HttpError as decided, a SQLSTATE by the map above (42501
 * is 401 for an anonymous request), a lost database connection 503 PGRST000, anything else 500.
 */
export function errorAnswer(err: unknown, anonymous: boolean): { status: number; body: PostgrestErrorBody } {
  let status: number;
  let body: PostgrestErrorBody;
  if (err instanceof HttpError) {
    status = err.status;
    body = err.body;
  } else {
    const e = err as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    if (/^[0-9A-Z]{5}$/.test(code)) {
      status = httpStatusForSqlState(code, !anonymous);
      body = errorBody(
        code,
        String(e.message ?? 'database error'),
        typeof e.detail === 'string' ? e.detail : null,
        typeof e.hint === 'string' ? e.hint : null,
      );
    } else if (CONNECTION_ERRORS.has(code) || /connect|terminat/i.test(String(e.message ?? ''))) {
      status = 503;
      body = errorBody(
        'PGRST000',
        'Could not connect with the database due to an incorrect db-uri or due to the PostgreSQL service not running.',
        String(e.message ?? ''),
      );
    } else {
      status = 500;
      body = errorBody('PGRSTX00', 'Internal server error', String(e.message ?? err));
    }
  }
  return { status, body };
}
