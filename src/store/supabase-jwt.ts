import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HS256 JWTs as Supabase uses them: the project's legacy `anon` and `service_role` keys, and the
 * per-machine credentials the bot mints (`role: vyx_machine`, `machine_id`), all signed with the
 * project's JWT secret and verified by PostgREST (and by the local twin) with that secret.
 */
export type JwtClaims = Record<string, unknown> & {
  role?: string;
  exp?: number;
  iat?: number;
  nbf?: number;
};

export type JwtVerification =
  | { ok: true; claims: JwtClaims }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'not-yet-valid' };

/** PostgREST tolerates this much clock skew on exp/nbf/iat. */
const SKEW_S = 30;

const b64url = (buf: Buffer) => buf.toString('base64url');
const sign = (input: string, secret: string) => createHmac('sha256', secret).update(input).digest();

export function signJwt(claims: JwtClaims, secret: string): string {
  const head = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const body = b64url(Buffer.from(JSON.stringify(claims)));
  return `${head}.${body}.${b64url(sign(`${head}.${body}`, secret))}`;
}

function parsePart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies an HS256 JWT (any other `alg`, `none` included, is refused) and its time claims. */
export function verifyJwt(
  token: string,
  secret: string,
  nowS = Math.floor(Date.now() / 1000),
): JwtVerification {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [head, body, sig] = parts as [string, string, string];
  const header = parsePart(head);
  const claims = parsePart(body);
  if (!header || !claims) return { ok: false, reason: 'malformed' };
  if (header.alg !== 'HS256') return { ok: false, reason: 'signature' };
  const expected = sign(`${head}.${body}`, secret);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature' };
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const exp = num(claims.exp);
  if (exp !== undefined && nowS - SKEW_S >= exp) return { ok: false, reason: 'expired' };
  const nbf = num(claims.nbf);
  if (nbf !== undefined && nowS + SKEW_S < nbf) return { ok: false, reason: 'not-yet-valid' };
  const iat = num(claims.iat);
  if (iat !== undefined && nowS + SKEW_S < iat) return { ok: false, reason: 'not-yet-valid' };
  return { ok: true, claims: claims as JwtClaims };
}

/** The two keys of a Supabase project with a legacy JWT secret, as the dashboard shows them. */
export function projectKeys(
  secret: string,
  nowS = Math.floor(Date.now() / 1000),
): { anonKey: string; serviceKey: string } {
  const tenYears = 10 * 365 * 24 * 3600;
  return {
    anonKey: signJwt({ iss: 'supabase', role: 'anon', iat: nowS, exp: nowS + tenYears }, secret),
    serviceKey: signJwt({ iss: 'supabase', role: 'service_role', iat: nowS, exp: nowS + tenYears }, secret),
  };
}

/** The Postgres role a machine's credential runs as (supabase/migrations: vyx_machine_claim). */
export const MACHINE_ROLE = 'vyx_machine';

/**
 * A machine's own credential: a JWT for role vyx_machine naming its row in a `machine_id` claim,
 * signed with the project's JWT secret. The SQL functions let it report, heartbeat and read that
 * row only, and refuse it once the row is destroyed. It expires after a year as a backstop.
 */
export function mintMachineToken(
  machineId: string,
  secret: string,
  nowS = Math.floor(Date.now() / 1000),
): string {
  return signJwt(
    { iss: 'vyxbot', role: MACHINE_ROLE, machine_id: machineId, iat: nowS, exp: nowS + 365 * 24 * 3600 },
    secret,
  );
}

/**
 * What is wrong with an operator's SUPABASE_JWT_SECRET / SUPABASE_ANON_KEY pair (names only, never
 * values): one without the other, a secret too short to be Supabase's, an anon key the secret did
 * not sign or that is not the anon role.
 */
export function machineCredentialProblems(secret: string | undefined, anonKey: string | undefined): string[] {
  if (!secret && !anonKey) return [];
  if (!secret) return ['SUPABASE_JWT_SECRET is missing: it is required with SUPABASE_ANON_KEY'];
  if (!anonKey) return ['SUPABASE_ANON_KEY is missing: it is required with SUPABASE_JWT_SECRET'];
  if (secret.length < 32) {
    return [
      "SUPABASE_JWT_SECRET should be the project's JWT secret (Project Settings → API; at least 32 characters)",
    ];
  }
  const v = verifyJwt(anonKey, secret);
  if (!v.ok) {
    return [
      `SUPABASE_ANON_KEY should be a key signed with SUPABASE_JWT_SECRET (${v.reason}): copy both from the same project`,
    ];
  }
  if (v.claims.role !== 'anon') {
    return [`SUPABASE_ANON_KEY should be the anon key, not the ${String(v.claims.role)} key`];
  }
  return [];
}
