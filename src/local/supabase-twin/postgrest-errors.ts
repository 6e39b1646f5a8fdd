/**
 * PostgREST's SQLSTATE → HTTP status map (postgrest `src/PostgREST/Error.hs`, mapSQLtoHTTP), and the
 * JSON body shape every PostgREST error has.
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
