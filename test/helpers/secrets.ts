import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';

/** A distinctive fake secret value, so a test can look for it wherever it must not be. */
export function secret(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/** No secret value anywhere in the text (the assertion names the kind, never the value). */
export function expectNoSecrets(text: string, secrets: Record<string, string>): void {
  expect(text.length).toBeGreaterThan(0);
  for (const [what, value] of Object.entries(secrets)) {
    expect(text.includes(value), `${what} appears in the log`).toBe(false);
  }
}
