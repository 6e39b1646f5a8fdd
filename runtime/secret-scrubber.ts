import { SECRET_MACHINE_ENV_NAMES } from '../src/contract/machine-env-names.ts';

/** Variable names whose values are secrets: the contract's, and any *_KEY, *_TOKEN, *SECRET*, *PASSWORD*. */
const SECRET_NAME = /(_KEY|_TOKEN|SECRET|PASSWORD|PASSWD|_PAT|_CREDENTIALS?)$|SECRET|TOKEN|PASSWORD/i;

/** Shorter values are not treated as secrets (they would blank out ordinary words and numbers). */
const MIN_SECRET_LENGTH = 6;

export function isSecretName(name: string): boolean {
  return (SECRET_MACHINE_ENV_NAMES as readonly string[]).includes(name) || SECRET_NAME.test(name);
}

/** The secret values in an environment, including passwords inside URLs (`postgres://u:pw@…`). */
export function secretValuesOf(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (isSecretName(name) && value.trim().length >= MIN_SECRET_LENGTH) {
      values.add(value);
      values.add(value.trim());
    }
    if (/:\/\//.test(value)) {
      try {
        const password = decodeURIComponent(new URL(value).password);
        if (password.length >= MIN_SECRET_LENGTH) values.add(password);
      } catch {
        // not a URL
      }
    }
  }
  return [...values];
}

/**
 * Replaces every occurrence of the given values, raw or as they appear inside a JSON string, with
 * `[redacted]`. The last line of defence: pino's redaction covers known paths, this covers any
 * text the runtime or its workload writes.
 */
export function createSecretScrubber(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join('[redacted]');
    return out;
  };
}
