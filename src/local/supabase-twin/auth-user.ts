import type { IncomingMessage } from 'node:http';
import { verifyJwt } from '../../store/supabase-jwt.ts';
import type { GatewayKeys } from './gateway-auth.ts';

/**
 * Supabase Auth's `GET /auth/v1/user` (GoTrue `internal/api/auth.go`), the call `auth.getUser(jwt)`
 * makes: the API gateway's `apikey` check first, then the bearer token verified and its `sub`
 * claim read; errors in GoTrue's shape `{ code, error_code, msg }` with its statuses and words.
 *
 * What differs: the twin keeps no `auth.users` or sessions, so a validly signed token with a UUID
 * `sub` is a user as its claims say (GoTrue would also answer 403 `user_not_found` for a deleted
 * user and `session_not_found` for a signed-out session); HS256 only, as the rest of the gateway.
 */
export function authUserAnswer(
  req: IncomingMessage,
  keys: GatewayKeys,
  nowS = Math.floor(Date.now() / 1000),
): { status: number; body: unknown } {
  const apikey = req.headers.apikey;
  if (typeof apikey !== 'string' || apikey === '') {
    return { status: 401, body: { message: 'No API key found in request' } };
  }
  if (!keys.apiKeys.includes(apikey) && !keys.secretKeys.includes(apikey)) {
    return { status: 401, body: { message: 'Invalid API key' } };
  }
  const gotrue = (status: number, errorCode: string, msg: string) => ({
    status,
    body: { code: status, error_code: errorCode, msg },
  });
  if (req.method !== 'GET') return gotrue(405, 'method_not_allowed', 'Method Not Allowed');
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
  if (!bearer) return gotrue(401, 'no_authorization', 'This endpoint requires a Bearer token');
  const v = verifyJwt(bearer, keys.jwtSecret, nowS);
  if (!v.ok) {
    const why =
      v.reason === 'expired'
        ? 'token has invalid claims: token is expired'
        : v.reason === 'not-yet-valid'
          ? 'token has invalid claims: token is not valid yet'
          : v.reason === 'malformed'
            ? 'token is malformed: token contains an invalid number of segments'
            : 'signature is invalid';
    return gotrue(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${why}`);
  }
  const sub = v.claims.sub;
  if (typeof sub !== 'string' || sub === '')
    return gotrue(403, 'bad_jwt', 'invalid claim: missing sub claim');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(sub)) {
    return gotrue(400, 'bad_jwt', 'invalid claim: sub claim must be a UUID');
  }
  const at = new Date((typeof v.claims.iat === 'number' ? v.claims.iat : nowS) * 1000).toISOString();
  const email = typeof v.claims.email === 'string' ? v.claims.email : '';
  return {
    status: 200,
    body: {
      id: sub,
      aud: typeof v.claims.aud === 'string' ? v.claims.aud : 'authenticated',
      role: typeof v.claims.role === 'string' ? v.claims.role : 'authenticated',
      email,
      phone: '',
      app_metadata: v.claims.app_metadata ?? { provider: 'email', providers: ['email'] },
      user_metadata: v.claims.user_metadata ?? {},
      identities: [],
      created_at: at,
      updated_at: at,
      is_anonymous: v.claims.is_anonymous === true,
    },
  };
}
