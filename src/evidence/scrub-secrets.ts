/**
 * Takes secret values out of machine log lines before they reach Slack. Two nets: values the bot
 * knows (the machine's env values under secret-looking names, the bot's own credentials), and
 * shapes secrets have whoever set them (JWTs, bearer and Fly/Slack tokens, `NAME=value` under a
 * secret-looking name). A Fly secret printed bare with no name is invisible to both: Fly never
 * tells the bot secret values.
 */

export const REDACTED = '[redacted]';

const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIAL|PRIVATE|AUTH|JWT|DSN|COOKIE|SESSION)/i;

/** Names whose values are secret by their name (e.g. SUPABASE_SERVICE_KEY, DB_PASSWORD). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

const SHAPES: RegExp[] = [
  // before NAME=value, which would otherwise take `Bearer` for the value and leave the token
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  // NAME=value, NAME: value, "name":"value" under a secret-looking name
  /\b([A-Za-z0-9_.-]*(?:key|token|secret|passw(?:or)?d|pass|credential|private|auth|jwt|dsn|cookie|session)[A-Za-z0-9_.-]*)("?\s*[=:]\s*"?)([^\s"',;]+)/gi,
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, // a JWT
  /\b(?:fm[12]_|FlyV1\s)[A-Za-z0-9_+/=,-]{10,}/g, // Fly tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@/]+@/gi, // credentials in a URL
];

const NAMED = SHAPES[1];

/** `text` with every known value and every secret-shaped run replaced by `[redacted]`. */
export function scrubSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  // Longest first, so a value containing another is taken out whole. Short values would blank
  // ordinary words, so values under 6 characters are left to the shapes.
  for (const value of [...new Set(known)].filter((v) => v.length >= 6).sort((a, b) => b.length - a.length)) {
    out = out.split(value).join(REDACTED);
  }
  for (const shape of SHAPES) {
    out = out.replace(shape, (match, name?: string, sep?: string) =>
      typeof name === 'string' && typeof sep === 'string' && shape === NAMED
        ? `${name}${sep}${REDACTED}`
        : match.includes('://')
          ? `${match.slice(0, match.indexOf('://') + 3)}${REDACTED}@`
          : REDACTED,
    );
  }
  return out;
}

/** The secret values a machine's own config shows: env values under secret-looking names. */
export function knownSecretValues(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {})
    .filter(([name]) => isSecretName(name))
    .map(([, value]) => value);
}
