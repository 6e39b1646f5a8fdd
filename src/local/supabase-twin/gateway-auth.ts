import type { IncomingMessage } from 'node:http';
import { type JwtClaims, verifyJwt } from '../../store/supabase-jwt.ts';
import { errorBody, HttpError } from './postgrest-errors.ts';

/** What the gateway accepts, as a Supabase project's API gateway and PostgREST do. */
export interface GatewayKeys {
  /** The project's JWT secret: every JWT (the anon and service_role keys, machine tokens) is verified with it. */
  jwtSecret: string;
  /** Keys the API gateway lets through as `apikey` (Kong's consumers: the anon and service_role keys). */
  apiKeys: string[];
  /** Opaque secret keys (like Supabase's `sb_secret_…`): accepted as `apikey` and run as service_role. */
  secretKeys: string[];
}

/** Who a request runs as: PostgREST's role and the claims it exposes as `request.jwt.claims`. */
export interface RequestIdentity {
  role: string;
  claims: JwtClaims;
}

const ANON_ROLE = 'anon';

/**
 * Supabase's two checks in order: the API gateway wants an `apikey` it knows (else 401), then
 * PostgREST verifies the bearer token (the `Authorization` header, else the apikey itself) with the
 * JWT secret and takes the role from its `role` claim (none: the anon role).
 */
export function authenticate(req: IncomingMessage, keys: GatewayKeys): RequestIdentity {
  const apikey = req.headers.apikey;
  const auth = req.headers.authorization;
  if (typeof apikey !== 'string' || apikey === '') {
    throw new HttpError(
      401,
      errorBody('PGRST301', 'No API key found in request', null, 'No `apikey` request header was found.'),
    );
  }
  const known = keys.apiKeys.includes(apikey) || keys.secretKeys.includes(apikey);
  if (!known) {
    throw new HttpError(
      401,
      errorBody(
        'PGRST301',
        'Invalid API key',
        null,
        'Double check your Supabase `anon` or `service_role` API key.',
      ),
    );
  }
  const bearer = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  if (auth !== undefined && bearer === undefined) {
    throw new HttpError(401, errorBody('PGRST301', 'Authorization header must be a Bearer token'));
  }
  const token = bearer ?? apikey;
  if (keys.secretKeys.includes(token)) return { role: 'service_role', claims: { role: 'service_role' } };
  const v = verifyJwt(token, keys.jwtSecret);
  if (!v.ok) {
    if (v.reason === 'expired') throw new HttpError(401, errorBody('PGRST303', 'JWT expired'));
    throw new HttpError(
      401,
      errorBody(
        'PGRST301',
        v.reason === 'malformed'
          ? 'JWSError (CompactDecodeError Invalid number of parts)'
          : 'JWSError JWSInvalidSignature',
      ),
    );
  }
  const role = typeof v.claims.role === 'string' && v.claims.role !== '' ? v.claims.role : ANON_ROLE;
  return { role, claims: v.claims };
}

/** PostgREST answers 42501 with 401 for the anon role and 403 for any other. */
export const isAnonymous = (identity: RequestIdentity) => identity.role === ANON_ROLE;
